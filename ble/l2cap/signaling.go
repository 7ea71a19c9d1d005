package l2cap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Role is our role on the LE connection: only a central answers a
// Connection Parameter Update Request (Vol 3 Part A §4.20).
type Role uint8

// Roles.
const (
	RoleCentral Role = iota + 1
	RolePeripheral
)

func (r Role) String() string {
	switch r {
	case RoleCentral:
		return "central"
	case RolePeripheral:
		return "peripheral"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Signaling defaults and limits.
const (
	// DefaultRTX is how long a request waits for its response. §6.2.1
	// allows 1–60 s; 10 s outlasts several connection events even at the
	// longest interval (4 s) while freeing a stuck CID reasonably soon.
	DefaultRTX = 10 * time.Second
	MinRTX     = time.Second
	MaxRTX     = 60 * time.Second
	// DefaultMaxChannels allows the IPSP channel plus one crossing
	// request (both sides connecting at once).
	DefaultMaxChannels = 2
	// MaxChannels is the size of the LE-U dynamic CID range.
	MaxChannels = int(CIDDynamicLast-CIDDynamicFirst) + 1
)

// SignalingConfig configures the signalling of one ACL connection.
type SignalingConfig struct {
	// Role is ours on the connection; it must be set.
	Role Role
	// Accept decides on an incoming LE Credit Based Connection Request
	// whose LE PSM is in range: ResultSuccess to accept, or the result to
	// refuse with (ResultSPSMNotSupported for a service we do not offer).
	// Nil means AcceptIPSP.
	Accept func(req *LECreditConnRequest) Result
	// Channel is our side of every channel (MTU, MPS, credits, queue).
	Channel ChannelConfig
	// MaxChannels bounds the channels open or being opened or closed at
	// once (1–64; default 2).
	MaxChannels int
	// RTX is how long our requests wait for a response (1–60 s, §6.2.1;
	// default 10 s). Expire enforces it.
	RTX time.Duration
	// SignalingMTU is our MTUsig: the largest command we accept (at least
	// and by default 23, §4).
	SignalingMTU uint16
}

// AcceptIPSP accepts the IPSP PSM (0x0023) only, and only from a peer that
// can receive a whole 1280-octet IPv6 packet in one SDU: RFC 7668 carries
// one packet per SDU without 6LoWPAN fragmentation (§3.2), so a smaller
// MTU could never carry the minimum IPv6 MTU (RFC 8200 §5).
func AcceptIPSP(req *LECreditConnRequest) Result {
	switch {
	case req.PSM != PSMIPSP:
		return ResultSPSMNotSupported
	case req.MTU < DefaultMTU:
		return ResultUnacceptableParameters
	}
	return ResultSuccess
}

// Validate fills in defaults for zero fields and checks the ranges.
func (c *SignalingConfig) Validate() error {
	if c.Accept == nil {
		c.Accept = AcceptIPSP
	}
	if c.MaxChannels == 0 {
		c.MaxChannels = DefaultMaxChannels
	}
	if c.RTX == 0 {
		c.RTX = DefaultRTX
	}
	if c.SignalingMTU == 0 {
		c.SignalingMTU = MinSignalingMTU
	}
	switch {
	case c.Role != RoleCentral && c.Role != RolePeripheral:
		return fmt.Errorf("l2cap: signalling role %v: must be central or peripheral: %w", c.Role, ErrBadParameter)
	case c.MaxChannels < 1 || c.MaxChannels > MaxChannels:
		return fmt.Errorf("l2cap: max channels %d outside 1–%d: %w", c.MaxChannels, MaxChannels, ErrBadParameter)
	case c.RTX < MinRTX || c.RTX > MaxRTX:
		return fmt.Errorf("l2cap: RTX %v outside 1–60 s (Vol 3 Part A §6.2.1): %w", c.RTX, ErrBadParameter)
	case c.SignalingMTU < MinSignalingMTU:
		return fmt.Errorf("l2cap: signalling MTU %d below %d (Vol 3 Part A §4): %w", c.SignalingMTU, MinSignalingMTU, ErrBadParameter)
	}
	return c.Channel.Validate()
}

// EventKind says what happened.
type EventKind uint8

// Events.
const (
	// EventChannelOpened: Channel is open (the peer accepted our request,
	// or we accepted the peer's). Start the link that uses it.
	EventChannelOpened EventKind = iota + 1
	// EventChannelClosed: Channel, once open, is closed and gone. Err is
	// nil after an orderly disconnection, ErrTimeout when the peer never
	// answered our Disconnection Request, ErrRejected when it rejected it,
	// ErrClosed when the ACL link went down.
	EventChannelClosed
	// EventConnectFailed: our connection request for Channel failed:
	// refused (Err ErrRefused, Result says why), rejected (ErrRejected,
	// Reason), unanswered (ErrTimeout), answered with parameters out of
	// range (ErrBadParameter), or the link went down (ErrClosed).
	EventConnectFailed
	// EventCredits: the peer granted Channel credits; call its Resume to
	// send what waits.
	EventCredits
	// EventProtocolError: the peer broke §10.1 on Channel (Err says how);
	// a Disconnection Request is among the replies, and EventChannelClosed
	// follows when it completes.
	EventProtocolError
	// EventConnParamUpdate: as central we accepted the peripheral's
	// Connection Parameter Update Request (§4.20): issue an HCI LE
	// Connection Update with Params.
	EventConnParamUpdate
)

func (k EventKind) String() string {
	switch k {
	case EventChannelOpened:
		return "channel opened"
	case EventChannelClosed:
		return "channel closed"
	case EventConnectFailed:
		return "connect failed"
	case EventCredits:
		return "credits"
	case EventProtocolError:
		return "protocol error"
	case EventConnParamUpdate:
		return "update connection parameters"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is something the host must act on. Fields are set as the Kind's
// comment says; the others are zero.
type Event struct {
	Kind    EventKind
	Channel *Channel
	Result  Result       // EventConnectFailed with ErrRefused
	Reason  RejectReason // EventConnectFailed with ErrRejected
	Params  ConnParams   // EventConnParamUpdate
	Err     error
}

func (e Event) String() string {
	s := e.Kind.String()
	if e.Channel != nil {
		s += ": " + e.Channel.String()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// SignalingStats counts the signalling of one connection.
type SignalingStats struct {
	Commands         uint64 // C-frames handled
	Malformed        uint64 // truncated, bad length, identifier 0, wrong data size, above MTUsig
	RejectsSent      uint64 // Command Rejects we sent
	RejectsReceived  uint64 // Command Rejects matching one of our requests
	Unsolicited      uint64 // responses and credits matching no request or channel: discarded
	ConnectsAccepted uint64 // peer's connection requests accepted
	ConnectsRefused  uint64 // peer's connection requests refused
	Timeouts         uint64 // our requests unanswered within RTX
}

type pendingRequest struct {
	ident uint8
	code  Code // of the request
	sent  time.Time
	ch    *Channel
}

// Signaling is the LE signalling channel (CID 0x0005) of one ACL
// connection, and the table of its LE credit based channels: it answers
// the peer's commands, builds ours, allocates local CIDs and identifiers,
// and times out requests (Vol 3 Part A §4, §6.2.1, §10.1). It does no I/O:
// every method returns the PDUs to send and the events to act on.
//
// A Signaling is not safe for concurrent use; the caller serialises its
// calls and those on its channels (one lock per ACL connection).
type Signaling struct {
	cfg       SignalingConfig
	channels  []*Channel // every channel not yet closed
	pending   []pendingRequest
	lastIdent uint8
	lastCID   CID
	stats     SignalingStats
}

// NewSignaling returns the signalling of a new ACL connection.
func NewSignaling(cfg SignalingConfig) (*Signaling, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Signaling{cfg: cfg, lastCID: CIDDynamicLast}, nil
}

// Stats returns a copy of the counters.
func (s *Signaling) Stats() SignalingStats { return s.stats }

// Channel returns the channel whose local CID is cid (in any state but
// closed), or nil.
func (s *Signaling) Channel(cid CID) *Channel {
	for _, ch := range s.channels {
		if ch.local == cid {
			return ch
		}
	}
	return nil
}

// Channels returns the channels not yet closed.
func (s *Signaling) Channels() []*Channel { return append([]*Channel(nil), s.channels...) }

func (s *Signaling) byRemote(cid CID) *Channel {
	for _, ch := range s.channels {
		if ch.state != StateConnecting && ch.remote == cid {
			return ch
		}
	}
	return nil
}

// allocCID returns a free local CID, continuing after the last one handed
// out so that a CID just released is not reused at once (a late K-frame for
// the old channel cannot reach a new one).
func (s *Signaling) allocCID() (CID, bool) {
	c := s.lastCID
	for range MaxChannels {
		c++
		if c > CIDDynamicLast {
			c = CIDDynamicFirst
		}
		if s.Channel(c) == nil {
			s.lastCID = c
			return c, true
		}
	}
	return 0, false
}

// newIdent returns the next identifier, 1–255 (0 is illegal, §4), skipping
// those of requests still waiting for a response.
func (s *Signaling) newIdent() uint8 {
	for {
		s.lastIdent++
		if s.lastIdent == 0 {
			s.lastIdent = 1
		}
		if s.findPending(s.lastIdent) < 0 {
			return s.lastIdent
		}
	}
}

func (s *Signaling) findPending(ident uint8) int {
	for i := range s.pending {
		if s.pending[i].ident == ident {
			return i
		}
	}
	return -1
}

// takePending removes and returns the request with ident and code.
func (s *Signaling) takePending(ident uint8, code Code) (pendingRequest, bool) {
	i := s.findPending(ident)
	if i < 0 || s.pending[i].code != code {
		return pendingRequest{}, false
	}
	p := s.pending[i]
	s.pending = append(s.pending[:i], s.pending[i+1:]...)
	return p, true
}

// remove closes ch and forgets it and its requests.
func (s *Signaling) remove(ch *Channel) {
	ch.close()
	for i, c := range s.channels {
		if c == ch {
			s.channels = append(s.channels[:i], s.channels[i+1:]...)
			break
		}
	}
	kept := s.pending[:0]
	for _, p := range s.pending {
		if p.ch != ch {
			kept = append(kept, p)
		}
	}
	s.pending = kept
}

// Connect builds an LE Credit Based Connection Request for psm (§4.22),
// with a fresh local CID and our ChannelConfig. It returns the channel, in
// StateConnecting until the response, and the PDU to send. An
// EventChannelOpened or EventConnectFailed for the channel follows from
// Handle or Expire.
func (s *Signaling) Connect(now time.Time, psm PSM) (*Channel, []byte, error) {
	if !psm.Valid() {
		return nil, nil, fmt.Errorf("l2cap: connect to LE PSM %v outside 0x0001–0x00FF: %w", psm, ErrBadParameter)
	}
	if len(s.channels) >= s.cfg.MaxChannels {
		return nil, nil, fmt.Errorf("l2cap: connect: %d channels: %w", len(s.channels), ErrNoResources)
	}
	local, ok := s.allocCID()
	if !ok {
		return nil, nil, fmt.Errorf("l2cap: connect: no free CID: %w", ErrNoResources)
	}
	ch := newChannel(s.cfg.Channel, psm, local)
	s.channels = append(s.channels, ch)
	ident := s.newIdent()
	s.pending = append(s.pending, pendingRequest{ident: ident, code: CodeLECreditConnRequest, sent: now, ch: ch})
	c := &s.cfg.Channel
	pdu := AppendSignal(nil, ident, &LECreditConnRequest{PSM: psm, SourceCID: local, MTU: c.MTU, MPS: c.MPS, InitialCredits: c.InitialCredits})
	return ch, pdu, nil
}

// Disconnect builds a Disconnection Request for an open channel (§4.6).
// From now on its queued SDUs are dropped and K-frames for it discarded;
// EventChannelClosed follows the response (or the RTX timeout). A channel
// still connecting cannot be disconnected (its remote CID is unknown):
// wait for its EventChannelOpened or EventConnectFailed.
func (s *Signaling) Disconnect(now time.Time, ch *Channel) ([]byte, error) {
	if ch == nil || s.Channel(ch.local) != ch || ch.state != StateOpen {
		return nil, fmt.Errorf("l2cap: disconnect %v: %w", ch, ErrClosed)
	}
	var d Delivery
	s.disconnect(now, ch, &d)
	return d.Replies[0], nil
}

func (s *Signaling) disconnect(now time.Time, ch *Channel, d *Delivery) {
	if ch.state != StateOpen {
		return
	}
	ch.disconnecting()
	ident := s.newIdent()
	s.pending = append(s.pending, pendingRequest{ident: ident, code: CodeDisconnectionRequest, sent: now, ch: ch})
	d.reply(ident, &DisconnectionRequest{DCID: ch.remote, SCID: ch.local})
}

// AppendCredits asks ch how many credits to return (Channel.CreditsToReturn)
// and, when there are some, appends a Flow Control Credit Ind PDU for them
// (§4.24). Otherwise b is returned unchanged. Call it after each
// Channel.Receive when not using Dispatch (which does it).
func (s *Signaling) AppendCredits(b []byte, ch *Channel) []byte {
	n := ch.CreditsToReturn()
	if n == 0 {
		return b
	}
	return appendCreditPDU(b, s.newIdent(), ch.local, n)
}

// appendCreditPDU is AppendSignal of a FlowControlCreditInd, without an
// interface value (which would escape to the heap).
func appendCreditPDU(b []byte, ident uint8, cid CID, credits uint16) []byte {
	ind := FlowControlCreditInd{CID: cid, Credits: credits}
	b = AppendPDUHeader(b, CommandHeaderLen+flowControlCreditLen, CIDLESignaling)
	b = append(b, byte(CodeFlowControlCreditInd), ident)
	b = binary.LittleEndian.AppendUint16(b, flowControlCreditLen)
	return ind.AppendData(b)
}

// NextExpiry is when the oldest request times out; ok is false when none
// waits.
func (s *Signaling) NextExpiry() (t time.Time, ok bool) {
	for _, p := range s.pending {
		if e := p.sent.Add(s.cfg.RTX); !ok || e.Before(t) {
			t, ok = e, true
		}
	}
	return t, ok
}

// Expire fails the requests that waited RTX or longer (§6.2.1): a
// connection request with EventConnectFailed (ErrTimeout), a disconnection
// request by closing the channel anyway (EventChannelClosed, ErrTimeout).
// A peer that stopped answering may be gone: the host may also drop the
// ACL connection. Call Expire at NextExpiry, or periodically.
func (s *Signaling) Expire(now time.Time) []Event {
	var evs []Event
	for i := 0; i < len(s.pending); {
		p := s.pending[i]
		if now.Sub(p.sent) < s.cfg.RTX {
			i++
			continue
		}
		s.stats.Timeouts++
		err := fmt.Errorf("l2cap: %v (identifier %d) unanswered after %v: %w", p.code, p.ident, s.cfg.RTX, ErrTimeout)
		evs = s.fail(evs, p.ch, err, ResultSuccess, 0)
		i = 0 // fail removed requests: rescan
	}
	return evs
}

// fail removes ch (and its pending requests) and reports why, unless its
// failure was reported already.
func (s *Signaling) fail(evs []Event, ch *Channel, err error, result Result, reason RejectReason) []Event {
	s.remove(ch)
	switch {
	case ch.opened:
		return append(evs, Event{Kind: EventChannelClosed, Channel: ch, Err: err})
	case ch.failed:
		return evs
	}
	ch.failed = true
	return append(evs, Event{Kind: EventConnectFailed, Channel: ch, Result: result, Reason: reason, Err: err})
}

// LinkClosed closes every channel when the ACL connection is gone and
// reports each (EventChannelClosed or EventConnectFailed, ErrClosed).
func (s *Signaling) LinkClosed() []Event {
	var evs []Event
	for len(s.channels) > 0 {
		evs = s.fail(evs, s.channels[0], fmt.Errorf("l2cap: ACL link closed: %w", ErrClosed), ResultSuccess, 0)
	}
	s.pending = s.pending[:0]
	return evs
}

// Handle takes the information payload of one C-frame received on the LE
// signalling channel (CID 0x0005) and returns the PDUs to send back, in
// order, and the events to act on.
//
// Requests are answered as §4 says; a command that cannot be understood —
// unknown code (including the enhanced credit based ones, §4.25–§4.28, and
// BR/EDR-only codes), data of the wrong size, a Length field that does not
// match the C-frame — gets a Command Reject "command not understood" with
// its identifier, and one longer than our MTUsig a Command Reject
// "signalling MTU exceeded". Responses (and Command Rejects) are never
// answered: one that matches no request of ours, or is malformed, is
// discarded. So is a command with identifier 0 or shorter than a header.
func (s *Signaling) Handle(now time.Time, payload []byte) (replies [][]byte, events []Event) {
	var d Delivery
	s.handle(now, payload, &d)
	return d.Replies, d.Events
}

var notUnderstood = CommandReject{Reason: RejectNotUnderstood}

func (s *Signaling) reject(d *Delivery, ident uint8, r *CommandReject) {
	s.stats.RejectsSent++
	d.reply(ident, r)
}

func (s *Signaling) handle(now time.Time, payload []byte, d *Delivery) {
	s.stats.Commands++
	if len(payload) > int(s.cfg.SignalingMTU) {
		s.stats.Malformed++
		if !Code(payload[cmdCodeOffset]).isResponse() && payload[cmdIdentOffset] != 0 {
			s.reject(d, payload[cmdIdentOffset], &CommandReject{Reason: RejectSignalingMTU, SignalingMTU: s.cfg.SignalingMTU})
		}
		return
	}
	cmd, err := ParseCommand(payload)
	if err != nil {
		s.stats.Malformed++
		if errors.Is(err, ErrBadLength) && !Code(payload[cmdCodeOffset]).isResponse() && payload[cmdIdentOffset] != 0 {
			s.reject(d, payload[cmdIdentOffset], &notUnderstood)
		}
		return
	}
	ident, data := cmd.Identifier(), cmd.Data()
	malformedRequest := func() {
		s.stats.Malformed++
		s.reject(d, ident, &notUnderstood)
	}
	switch cmd.Code() {
	case CodeCommandReject:
		var r CommandReject
		if r.Decode(data) != nil {
			s.stats.Malformed++
			return
		}
		s.onCommandReject(ident, &r, d)
	case CodeDisconnectionRequest:
		var r DisconnectionRequest
		if r.Decode(data) != nil {
			malformedRequest()
			return
		}
		s.onDisconnectionRequest(ident, &r, d)
	case CodeDisconnectionResponse:
		var r DisconnectionResponse
		if r.Decode(data) != nil {
			s.stats.Malformed++
			return
		}
		s.onDisconnectionResponse(ident, &r, d)
	case CodeConnParamUpdateRequest:
		var r ConnParamUpdateRequest
		if s.cfg.Role != RoleCentral {
			// §4.20: a peripheral receiving it answers "not understood".
			s.reject(d, ident, &notUnderstood)
			return
		}
		if r.Decode(data) != nil {
			malformedRequest()
			return
		}
		s.onConnParamUpdateRequest(ident, &r, d)
	case CodeConnParamUpdateResponse:
		// We never send the request: nothing can match.
		s.stats.Unsolicited++
	case CodeLECreditConnRequest:
		var r LECreditConnRequest
		if r.Decode(data) != nil {
			malformedRequest()
			return
		}
		s.onLECreditConnRequest(ident, &r, d)
	case CodeLECreditConnResponse:
		var r LECreditConnResponse
		if r.Decode(data) != nil {
			s.stats.Malformed++
			return
		}
		s.onLECreditConnResponse(now, ident, &r, d)
	case CodeFlowControlCreditInd:
		var r FlowControlCreditInd
		if r.Decode(data) != nil {
			malformedRequest()
			return
		}
		s.onFlowControlCredit(now, &r, d)
	default:
		s.reject(d, ident, &notUnderstood)
	}
}

func (s *Signaling) onCommandReject(ident uint8, r *CommandReject, d *Delivery) {
	i := s.findPending(ident)
	if i < 0 {
		s.stats.Unsolicited++
		return
	}
	s.stats.RejectsReceived++
	p := s.pending[i]
	err := fmt.Errorf("l2cap: %v (identifier %d): %v: %w", p.code, ident, r.Reason, ErrRejected)
	d.Events = s.fail(d.Events, p.ch, err, ResultSuccess, r.Reason)
}

// onLECreditConnRequest answers the peer's request (§4.22, §4.23). Checks
// run in this order: PSM, Source CID range, Source CID in use, MTU/MPS
// ranges, the acceptor's other conditions, then resources.
func (s *Signaling) onLECreditConnRequest(ident uint8, r *LECreditConnRequest, d *Delivery) {
	res := ResultSPSMNotSupported
	if r.PSM.Valid() {
		res = s.cfg.Accept(r)
	}
	if res != ResultSPSMNotSupported {
		switch {
		case !r.SourceCID.IsDynamic():
			res = ResultInvalidSourceCID
		case s.byRemote(r.SourceCID) != nil:
			res = ResultSourceCIDAllocated
		case r.Check() != ResultSuccess:
			res = r.Check()
		}
	}
	var local CID
	if res == ResultSuccess {
		ok := len(s.channels) < s.cfg.MaxChannels
		if ok {
			local, ok = s.allocCID()
		}
		if !ok {
			res = ResultNoResources
		}
	}
	if res != ResultSuccess {
		s.stats.ConnectsRefused++
		// The other fields are zero when refusing (§4.23), as BlueZ and
		// Zephyr send them.
		d.reply(ident, &LECreditConnResponse{Result: res})
		return
	}
	s.stats.ConnectsAccepted++
	ch := newChannel(s.cfg.Channel, r.PSM, local)
	ch.open(Peer{CID: r.SourceCID, MTU: r.MTU, MPS: r.MPS, InitialCredits: r.InitialCredits})
	s.channels = append(s.channels, ch)
	c := &s.cfg.Channel
	d.reply(ident, &LECreditConnResponse{DestinationCID: local, MTU: c.MTU, MPS: c.MPS, InitialCredits: c.InitialCredits, Result: ResultSuccess})
	d.Events = append(d.Events, Event{Kind: EventChannelOpened, Channel: ch})
}

func (s *Signaling) onLECreditConnResponse(now time.Time, ident uint8, r *LECreditConnResponse, d *Delivery) {
	p, ok := s.takePending(ident, CodeLECreditConnRequest)
	if !ok {
		s.stats.Unsolicited++
		return
	}
	ch := p.ch
	if r.Result != ResultSuccess {
		d.Events = s.fail(d.Events, ch, fmt.Errorf("l2cap: %v: %v: %w", ch, r.Result, ErrRefused), r.Result, 0)
		return
	}
	peer := Peer{CID: r.DestinationCID, MTU: r.MTU, MPS: r.MPS, InitialCredits: r.InitialCredits}
	err := peer.check()
	inUse := s.byRemote(peer.CID) != nil
	if err == nil && inUse {
		err = fmt.Errorf("l2cap: response destination CID %v already used by another channel: %w", peer.CID, ErrBadParameter)
	}
	if err == nil {
		ch.open(peer)
		d.Events = append(d.Events, Event{Kind: EventChannelOpened, Channel: ch})
		return
	}
	s.stats.Malformed++
	ch.failed = true
	d.Events = append(d.Events, Event{Kind: EventConnectFailed, Channel: ch, Err: err})
	if !peer.CID.IsDynamic() || inUse {
		s.remove(ch)
		return
	}
	// The peer believes the channel open: close its end too, keeping our
	// CID reserved until it answers. No event follows (the channel never
	// opened).
	ch.remote, ch.state = peer.CID, StateOpen
	s.disconnect(now, ch, d)
}

func (s *Signaling) onDisconnectionRequest(ident uint8, r *DisconnectionRequest, d *Delivery) {
	ch := s.Channel(r.DCID)
	if ch == nil || ch.state == StateConnecting {
		// §4.6: an unknown Destination CID is answered with "invalid CID",
		// the endpoints given as seen by us.
		s.reject(d, ident, &CommandReject{Reason: RejectInvalidCID, LocalCID: r.DCID, RemoteCID: r.SCID})
		return
	}
	if ch.remote != r.SCID {
		// §4.6: the Destination CID matches but the Source CID does not:
		// silently discarded.
		s.stats.Unsolicited++
		return
	}
	d.reply(ident, &DisconnectionResponse{DCID: r.DCID, SCID: r.SCID})
	opened := ch.opened
	s.remove(ch)
	if opened {
		d.Events = append(d.Events, Event{Kind: EventChannelClosed, Channel: ch})
	}
}

func (s *Signaling) onDisconnectionResponse(ident uint8, r *DisconnectionResponse, d *Delivery) {
	i := s.findPending(ident)
	if i < 0 || s.pending[i].code != CodeDisconnectionRequest ||
		r.DCID != s.pending[i].ch.remote || r.SCID != s.pending[i].ch.local {
		s.stats.Unsolicited++
		return
	}
	ch := s.pending[i].ch
	opened := ch.opened
	s.remove(ch)
	if opened {
		d.Events = append(d.Events, Event{Kind: EventChannelClosed, Channel: ch})
	}
}

func (s *Signaling) onConnParamUpdateRequest(ident uint8, r *ConnParamUpdateRequest, d *Delivery) {
	if r.Validate() != nil {
		d.reply(ident, &ConnParamUpdateResponse{Result: ConnParamRejected})
		return
	}
	d.reply(ident, &ConnParamUpdateResponse{Result: ConnParamAccepted})
	d.Events = append(d.Events, Event{Kind: EventConnParamUpdate, Params: r.ConnParams})
}

func (s *Signaling) onFlowControlCredit(now time.Time, r *FlowControlCreditInd, d *Delivery) {
	ch := s.byRemote(r.CID)
	if ch == nil || ch.state != StateOpen || r.Credits == 0 {
		// An unknown channel (perhaps just closed), or no credits (the
		// field's range is 1–65535, §4.24): nothing to do.
		s.stats.Unsolicited++
		return
	}
	if err := ch.AddCredits(r.Credits); err != nil {
		s.disconnect(now, ch, d)
		d.Events = append(d.Events, Event{Kind: EventProtocolError, Channel: ch, Err: err})
		return
	}
	d.Events = append(d.Events, Event{Kind: EventCredits, Channel: ch})
}
