// Package ratelog summarises repeated log events, so that an attacker (or a
// broken neighbour) sending the same bad packet a thousand times a second
// writes a few lines a minute, not a thousand a second, to a border
// router's SD card.
//
// A Limiter counts events per key (a reason and, say, the neighbour it
// came from). The first event of a key is logged in full by the caller;
// the following ones are counted, and at most one summary line per
// interval says how many there were:
//
//	412 registrations refused from 02:11:22:33:44:55:66:77: neighbor cache full, last 1m0s
//
// A key that stays quiet for a whole interval is forgotten, so its next
// event is logged in full again. The number of keys is bounded (an
// attacker that forges a new source for every packet would otherwise grow
// the table): beyond it, events are counted under one "other sources"
// key.
//
// Time is passed in. Allow never allocates when it suppresses an event
// (the caller builds its log attributes only when Allow says so), so it
// may sit on a per-packet path; summaries are written from Allow when an
// interval is over, and from Flush, which a caller runs every few seconds
// so that the count of a burst that stopped is written too.
package ratelog
