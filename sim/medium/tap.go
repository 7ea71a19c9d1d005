package medium

import (
	"slices"
	"time"
)

// TapFrame is a frame on the air as a Tap sees it.
type TapFrame struct {
	Channel uint8
	// Sender is the sending node's attach index (the device ID Mirror
	// puts in its ZEP messages).
	Sender int
	// Start is when the frame's first symbol went out: Config.Epoch plus
	// its virtual time, as Mirror's ZEP timestamps.
	Start time.Time
	// PSDU is the frame with its two FCS octets (the FCS as sent: bad
	// where a node sent it bad). It is the medium's own copy and never
	// changes: it may be kept.
	PSDU []byte
}

// tap is one Tap.
type tap struct{ fn func(TapFrame) }

// Tap calls fn for every frame put on the air from now on, on every
// channel, ACKs and frames that collide included — the frames Mirror
// sends — until remove is called or the medium closes. fn runs on the
// event loop with the medium's lock held, in the order frames go on the
// air (a ZEP peer's frame when its datagram arrives): it must not block
// nor call the Medium; hand the frame to a bounded queue. Unlike Mirror,
// a tap does not change when the event loop wakes up: a frame is handed
// over when the loop gets to its first symbol, which with TimeScale > 0
// may be as late as its end.
func (m *Medium) Tap(fn func(TapFrame)) (remove func()) {
	t := &tap{fn: fn}
	m.mu.Lock()
	m.taps = append(m.taps, t)
	m.mu.Unlock()
	return func() {
		m.mu.Lock()
		m.taps = slices.DeleteFunc(m.taps, func(x *tap) bool { return x == t })
		m.mu.Unlock()
	}
}

// tapFrame hands a frame that went on the air to every tap. Runs on the
// event loop.
func (m *Medium) tapFrame(f *airFrame) {
	if len(m.taps) == 0 {
		return
	}
	tf := TapFrame{Channel: f.channel, Sender: f.src.id, Start: m.epoch.Add(f.start), PSDU: f.psdu}
	for _, t := range m.taps {
		t.fn(tf)
	}
}
