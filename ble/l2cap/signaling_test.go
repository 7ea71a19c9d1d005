package l2cap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newSignaling(t testing.TB, mod func(*SignalingConfig)) *Signaling {
	t.Helper()
	cfg := SignalingConfig{Role: RoleCentral}
	if mod != nil {
		mod(&cfg)
	}
	s, err := NewSignaling(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// reply is one decoded signalling PDU.
type reply struct {
	ident uint8
	sig   Signal
}

func decodeReply(t testing.TB, pdu []byte) reply {
	t.Helper()
	p, err := ParsePDU(pdu)
	if err != nil {
		t.Fatal(err)
	}
	if p.CID() != CIDLESignaling {
		t.Fatalf("reply on CID %v", p.CID())
	}
	cmd, err := ParseCommand(p.Payload())
	if err != nil {
		t.Fatal(err)
	}
	sig, err := decodeSignal(cmd.Code(), cmd.Data())
	if err != nil {
		t.Fatalf("%v: %v", cmd.Code(), err)
	}
	return reply{cmd.Identifier(), sig}
}

// handle feeds one command and decodes what comes back.
func handle(t testing.TB, s *Signaling, now time.Time, ident uint8, sig Signal) ([]reply, []Event) {
	t.Helper()
	return handleRaw(t, s, now, AppendCommand(nil, ident, sig))
}

func handleRaw(t testing.TB, s *Signaling, now time.Time, payload []byte) ([]reply, []Event) {
	t.Helper()
	pdus, evs := s.Handle(now, payload)
	var rs []reply
	for _, p := range pdus {
		rs = append(rs, decodeReply(t, p))
	}
	return rs, evs
}

func oneReply(t testing.TB, rs []reply) reply {
	t.Helper()
	if len(rs) != 1 {
		t.Fatalf("%d replies, want 1: %+v", len(rs), rs)
	}
	return rs[0]
}

func wantReply(t testing.TB, rs []reply, ident uint8, sig Signal) {
	t.Helper()
	r := oneReply(t, rs)
	if r.ident != ident {
		t.Errorf("reply identifier %d, want %d", r.ident, ident)
	}
	if diff := cmp.Diff(sig, r.sig); diff != "" {
		t.Errorf("reply (-want +got):\n%s", diff)
	}
}

func ipspReq(scid CID) *LECreditConnRequest {
	return &LECreditConnRequest{PSM: PSMIPSP, SourceCID: scid, MTU: 1280, MPS: 23, InitialCredits: 56}
}

func TestSignalingConfig(t *testing.T) {
	for name, cfg := range map[string]SignalingConfig{
		"no role":             {},
		"RTX below 1 s":       {Role: RoleCentral, RTX: time.Second - 1},
		"RTX above 60 s":      {Role: RoleCentral, RTX: 61 * time.Second},
		"65 channels":         {Role: RoleCentral, MaxChannels: 65},
		"MTUsig 22":           {Role: RoleCentral, SignalingMTU: 22},
		"channel MPS too big": {Role: RoleCentral, Channel: ChannelConfig{MPS: 65534}},
	} {
		if _, err := NewSignaling(cfg); !errors.Is(err, ErrBadParameter) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// The peer opens the IPSP channel (the request Linux's bluetooth_6lowpan
// sends): accepted with our parameters, byte for byte.
func TestSignalingAccept(t *testing.T) {
	s := newSignaling(t, nil)
	vs := readVectors(t)
	pdus, evs := s.Handle(t0, vs["le-conn-req-linux"].b[HeaderLen:])
	want := AppendSignal(nil, 1, &LECreditConnResponse{DestinationCID: 0x40, MTU: 1280, MPS: 247, InitialCredits: 12})
	if len(pdus) != 1 || !bytes.Equal(pdus[0], want) {
		t.Fatalf("replies %x, want %x", pdus, want)
	}
	if len(evs) != 1 || evs[0].Kind != EventChannelOpened {
		t.Fatalf("events %v", evs)
	}
	ch := evs[0].Channel
	if ch.State() != StateOpen || ch.LocalCID() != 0x40 || ch.RemoteCID() != 0x40 || ch.RemoteMTU() != 1280 ||
		ch.RemoteMPS() != 23 || ch.Credits() != 56 || ch.PeerCredits() != 12 || ch.PSM() != PSMIPSP || s.Channel(0x40) != ch ||
		ch.LocalMTU() != 1280 || ch.LocalMPS() != 247 {
		t.Errorf("channel %v: remote MTU %d MPS %d credits %d peer credits %d", ch, ch.RemoteMTU(), ch.RemoteMPS(), ch.Credits(), ch.PeerCredits())
	}
	if st := s.Stats(); st.ConnectsAccepted != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSignalingRefuse(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func(*SignalingConfig)
		req  *LECreditConnRequest
		want Result
	}{
		{"PSM not offered", nil, &LECreditConnRequest{PSM: 0x80, SourceCID: 0x40, MTU: 1280, MPS: 23}, ResultSPSMNotSupported},
		{"PSM 0", func(c *SignalingConfig) { c.Accept = func(*LECreditConnRequest) Result { return ResultSuccess } },
			&LECreditConnRequest{PSM: 0, SourceCID: 0x40, MTU: 1280, MPS: 23}, ResultSPSMNotSupported},
		{"PSM above 0xFF", nil, &LECreditConnRequest{PSM: 0x123, SourceCID: 0x40, MTU: 1280, MPS: 23}, ResultSPSMNotSupported},
		{"source CID fixed", nil, ipspReq(0x0004), ResultInvalidSourceCID},
		{"source CID above 0x7F", nil, ipspReq(0x80), ResultInvalidSourceCID},
		{"MTU 22", func(c *SignalingConfig) { c.Accept = func(*LECreditConnRequest) Result { return ResultSuccess } },
			&LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 22, MPS: 23}, ResultUnacceptableParameters},
		{"MPS 22", nil, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 1280, MPS: 22}, ResultUnacceptableParameters},
		{"MPS 65534", nil, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 1280, MPS: 65534}, ResultUnacceptableParameters},
		{"IPSP MTU 1279", nil, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x40, MTU: 1279, MPS: 23}, ResultUnacceptableParameters},
		{"acceptor refuses: authentication", func(c *SignalingConfig) {
			c.Accept = func(*LECreditConnRequest) Result { return ResultInsufficientAuthentication }
		}, ipspReq(0x40), ResultInsufficientAuthentication},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSignaling(t, c.cfg)
			rs, evs := handle(t, s, t0, 7, c.req)
			wantReply(t, rs, 7, &LECreditConnResponse{Result: c.want})
			if len(evs) != 0 || len(s.Channels()) != 0 || s.Stats().ConnectsRefused != 1 {
				t.Errorf("events %v channels %v stats %+v", evs, s.Channels(), s.Stats())
			}
		})
	}
}

func TestSignalingRefuseInUseAndResources(t *testing.T) {
	s := newSignaling(t, nil) // 2 channels
	if _, evs := handle(t, s, t0, 1, ipspReq(0x40)); len(evs) != 1 {
		t.Fatal(evs)
	}
	rs, _ := handle(t, s, t0, 2, ipspReq(0x40))
	wantReply(t, rs, 2, &LECreditConnResponse{Result: ResultSourceCIDAllocated})
	if _, evs := handle(t, s, t0, 3, ipspReq(0x41)); len(evs) != 1 {
		t.Fatal(evs)
	}
	rs, _ = handle(t, s, t0, 4, ipspReq(0x42))
	wantReply(t, rs, 4, &LECreditConnResponse{Result: ResultNoResources})
	// A channel we are still connecting counts too.
	s2 := newSignaling(t, func(c *SignalingConfig) { c.MaxChannels = 1 })
	if _, _, err := s2.Connect(t0, PSMIPSP); err != nil {
		t.Fatal(err)
	}
	rs, _ = handle(t, s2, t0, 5, ipspReq(0x40))
	wantReply(t, rs, 5, &LECreditConnResponse{Result: ResultNoResources})
	if _, _, err := s2.Connect(t0, PSMIPSP); !errors.Is(err, ErrNoResources) {
		t.Errorf("Connect over the limit: %v", err)
	}
}

// BlueZ's l2cap-tester sends an LE connection request with Source CID
// 0x0001 and expects exactly this refusal.
func TestSignalingBlueZInvalidSCID(t *testing.T) {
	vs := readVectors(t)
	s := newSignaling(t, func(c *SignalingConfig) {
		c.Accept = func(r *LECreditConnRequest) Result {
			if r.PSM == 0x80 {
				return ResultSuccess
			}
			return ResultSPSMNotSupported
		}
	})
	cmd := append([]byte{byte(CodeLECreditConnRequest), 9, 10, 0}, vs["bluez-nval-le-conn-req"].b...)
	pdus, _ := s.Handle(t0, cmd)
	want := append([]byte{14, 0, 5, 0, byte(CodeLECreditConnResponse), 9, 10, 0}, vs["bluez-nval-le-conn-rsp"].b...)
	if len(pdus) != 1 || !bytes.Equal(pdus[0], want) {
		t.Errorf("reply %x, want %x", pdus, want)
	}
	// And its valid request (MTU 32, MPS 32) is accepted.
	cmd = append([]byte{byte(CodeLECreditConnRequest), 10, 10, 0}, vs["bluez-le-connect-req"].b...)
	if _, evs := s.Handle(t0, cmd); len(evs) != 1 || evs[0].Channel.RemoteMTU() != 32 || evs[0].Channel.Credits() != 5 {
		t.Errorf("events %v", evs)
	}
}

// Our request, byte for byte, and the peer's answers to it.
func TestSignalingConnect(t *testing.T) {
	vs := readVectors(t)
	s := newSignaling(t, nil)
	ch, pdu, err := s.Connect(t0, PSMIPSP)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pdu, vs["le-conn-req-ipsp"].b) {
		t.Fatalf("request %x, want %x", pdu, vs["le-conn-req-ipsp"].b)
	}
	if ch.State() != StateConnecting || ch.LocalCID() != 0x40 {
		t.Fatalf("channel %v", ch)
	}
	// A response with another identifier matches nothing.
	rs, evs := handle(t, s, t0, 2, &LECreditConnResponse{DestinationCID: 0x41, MTU: 1280, MPS: 247, InitialCredits: 12})
	if len(rs)+len(evs) != 0 || ch.State() != StateConnecting || s.Stats().Unsolicited != 1 {
		t.Fatalf("unmatched response: %v %v %v", rs, evs, ch)
	}
	rs, evs = handleRaw(t, s, t0, vs["le-conn-rsp-ok"].b[HeaderLen:])
	if len(rs) != 0 || len(evs) != 1 || evs[0].Kind != EventChannelOpened || evs[0].Channel != ch {
		t.Fatalf("replies %v events %v", rs, evs)
	}
	if ch.State() != StateOpen || ch.RemoteCID() != 0x41 || ch.RemoteMPS() != 247 || ch.Credits() != 12 {
		t.Errorf("channel %v MPS %d credits %d", ch, ch.RemoteMPS(), ch.Credits())
	}
	// The same response again: no request waits for it.
	if rs, evs := handleRaw(t, s, t0, vs["le-conn-rsp-ok"].b[HeaderLen:]); len(rs)+len(evs) != 0 {
		t.Errorf("duplicate response: %v %v", rs, evs)
	}
	if _, ok := s.NextExpiry(); ok {
		t.Error("a request still waits")
	}
}

func TestSignalingConnectFails(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch, _, _ := s.Connect(t0, PSMIPSP)
		_, evs := handle(t, s, t0, 1, &LECreditConnResponse{Result: ResultNoResources})
		if len(evs) != 1 || evs[0].Kind != EventConnectFailed || evs[0].Result != ResultNoResources || !errors.Is(evs[0].Err, ErrRefused) {
			t.Fatalf("events %v", evs)
		}
		if ch.State() != StateClosed || s.Channel(0x40) != nil {
			t.Errorf("channel %v", ch)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		s := newSignaling(t, nil)
		s.Connect(t0, PSMIPSP)
		_, evs := handle(t, s, t0, 1, &CommandReject{Reason: RejectNotUnderstood})
		if len(evs) != 1 || evs[0].Kind != EventConnectFailed || evs[0].Reason != RejectNotUnderstood || !errors.Is(evs[0].Err, ErrRejected) {
			t.Fatalf("events %v", evs)
		}
		if st := s.Stats(); st.RejectsReceived != 1 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("bad parameters", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch, _, _ := s.Connect(t0, PSMIPSP)
		rs, evs := handle(t, s, t0, 1, &LECreditConnResponse{DestinationCID: 0x41, MTU: 1280, MPS: 22})
		if len(evs) != 1 || evs[0].Kind != EventConnectFailed || !errors.Is(evs[0].Err, ErrBadParameter) {
			t.Fatalf("events %v", evs)
		}
		// The peer's end is closed; the local CID stays reserved until it
		// answers, and nothing more is reported.
		wantReply(t, rs, 2, &DisconnectionRequest{DCID: 0x41, SCID: 0x40})
		if s.Channel(0x40) != ch || ch.State() != StateDisconnecting {
			t.Fatalf("channel %v", ch)
		}
		rs, evs = handle(t, s, t0, 2, &DisconnectionResponse{DCID: 0x41, SCID: 0x40})
		if len(rs)+len(evs) != 0 || s.Channel(0x40) != nil {
			t.Errorf("after the response: %v %v %v", rs, evs, s.Channels())
		}
		// Unanswered, it is not reported twice either.
		s.Connect(t0, PSMIPSP)
		handle(t, s, t0, 3, &LECreditConnResponse{DestinationCID: 0x41, MTU: 22, MPS: 23})
		if evs := s.Expire(t0.Add(time.Minute)); len(evs) != 0 || len(s.Channels()) != 0 {
			t.Errorf("timeout: %v %v", evs, s.Channels())
		}
	})
	t.Run("fixed destination CID", func(t *testing.T) {
		s := newSignaling(t, nil)
		s.Connect(t0, PSMIPSP)
		rs, evs := handle(t, s, t0, 1, &LECreditConnResponse{DestinationCID: 0x0004, MTU: 1280, MPS: 247})
		if len(rs) != 0 || len(evs) != 1 || evs[0].Kind != EventConnectFailed || len(s.Channels()) != 0 {
			t.Errorf("replies %v events %v", rs, evs)
		}
	})
	t.Run("bad PSM", func(t *testing.T) {
		s := newSignaling(t, nil)
		if _, _, err := s.Connect(t0, 0x100); !errors.Is(err, ErrBadParameter) {
			t.Error(err)
		}
	})
}

func TestSignalingIdentifiers(t *testing.T) {
	s := newSignaling(t, func(c *SignalingConfig) { c.MaxChannels = 64 })
	seen := map[uint8]bool{}
	for i := range 600 {
		_, pdu, err := s.Connect(t0, PSMIPSP)
		if err != nil {
			t.Fatal(err)
		}
		ident := pdu[HeaderLen+cmdIdentOffset]
		if ident == 0 {
			t.Fatalf("request %d: identifier 0", i)
		}
		seen[ident] = true
		// Keep one request waiting: its identifier is never reused.
		if i == 0 {
			continue
		}
		handle(t, s, t0, ident, &LECreditConnResponse{Result: ResultNoResources})
	}
	if len(seen) != 255 {
		t.Errorf("%d identifiers used, want 1–255", len(seen))
	}
	if st := s.Stats(); st.Unsolicited != 0 || len(s.pending) != 1 || s.pending[0].ident != 1 {
		t.Errorf("stats %+v pending %+v", st, s.pending)
	}
}

func TestSignalingCIDs(t *testing.T) {
	s := newSignaling(t, func(c *SignalingConfig) { c.MaxChannels = 64 })
	cids := map[CID]bool{}
	for i := range 64 {
		rs, evs := handle(t, s, t0, uint8(i+1), ipspReq(CID(0x40+i)))
		if len(evs) != 1 {
			t.Fatalf("request %d: %v", i, rs)
		}
		cids[evs[0].Channel.LocalCID()] = true
	}
	if len(cids) != 64 {
		t.Fatalf("%d distinct CIDs", len(cids))
	}
	for c := range cids {
		if !c.IsDynamic() {
			t.Errorf("CID %v", c)
		}
	}
	rs, _ := handle(t, s, t0, 100, ipspReq(0x7f))
	wantReply(t, rs, 100, &LECreditConnResponse{Result: ResultSourceCIDAllocated})
	// Free 0x45: the only free CID, so the next channel gets it.
	ch := s.Channel(0x45)
	handle(t, s, t0, 101, &DisconnectionRequest{DCID: 0x45, SCID: ch.RemoteCID()})
	if s.Channel(0x45) != nil {
		t.Fatal("not released")
	}
	_, evs := handle(t, s, t0, 102, ipspReq(ch.RemoteCID()))
	if len(evs) != 1 || evs[0].Channel.LocalCID() != 0x45 {
		t.Fatalf("events %v", evs)
	}
	// With several free, a released CID is not the next one handed out.
	s2 := newSignaling(t, nil)
	ch1, _, _ := s2.Connect(t0, PSMIPSP)
	handle(t, s2, t0, 1, &LECreditConnResponse{Result: ResultNoResources})
	ch2, _, _ := s2.Connect(t0, PSMIPSP)
	if ch1.LocalCID() == ch2.LocalCID() {
		t.Errorf("CID %v reused at once", ch1.LocalCID())
	}
}

func TestSignalingTimeouts(t *testing.T) {
	s := newSignaling(t, func(c *SignalingConfig) { c.RTX = 2 * time.Second })
	ch, _, _ := s.Connect(t0, PSMIPSP)
	if e, ok := s.NextExpiry(); !ok || !e.Equal(t0.Add(2*time.Second)) {
		t.Errorf("NextExpiry %v %v", e, ok)
	}
	if evs := s.Expire(t0.Add(2*time.Second - 1)); len(evs) != 0 {
		t.Fatalf("early: %v", evs)
	}
	evs := s.Expire(t0.Add(2 * time.Second))
	if len(evs) != 1 || evs[0].Kind != EventConnectFailed || evs[0].Channel != ch || !errors.Is(evs[0].Err, ErrTimeout) {
		t.Fatalf("events %v", evs)
	}
	// A late response matches nothing.
	if rs, evs := handle(t, s, t0.Add(3*time.Second), 1, &LECreditConnResponse{DestinationCID: 0x41, MTU: 1280, MPS: 247, InitialCredits: 1}); len(rs)+len(evs) != 0 {
		t.Errorf("late response: %v %v", rs, evs)
	}
	// An unanswered Disconnection Request closes the channel anyway.
	_, evs = handle(t, s, t0, 9, ipspReq(0x50))
	ch = evs[0].Channel
	if _, err := s.Disconnect(t0.Add(10*time.Second), ch); err != nil {
		t.Fatal(err)
	}
	evs = s.Expire(t0.Add(12 * time.Second))
	if len(evs) != 1 || evs[0].Kind != EventChannelClosed || !errors.Is(evs[0].Err, ErrTimeout) || ch.State() != StateClosed {
		t.Fatalf("events %v", evs)
	}
	if st := s.Stats(); st.Timeouts != 2 {
		t.Errorf("stats %+v", st)
	}
}

func openChannel(t testing.TB, s *Signaling, remote CID) *Channel {
	t.Helper()
	_, evs := handle(t, s, t0, 200, ipspReq(remote))
	if len(evs) != 1 || evs[0].Kind != EventChannelOpened {
		t.Fatalf("events %v", evs)
	}
	return evs[0].Channel
}

func TestSignalingDisconnection(t *testing.T) {
	vs := readVectors(t)
	t.Run("by the peer", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch := openChannel(t, s, 0x41)
		// DCID 0x40 is ours, SCID 0x41 the peer's (this is
		// disconnection-req's layout with the CIDs swapped).
		pdus, evs := s.Handle(t0, AppendCommand(nil, 4, &DisconnectionRequest{DCID: 0x40, SCID: 0x41}))
		want := AppendSignal(nil, 4, &DisconnectionResponse{DCID: 0x40, SCID: 0x41})
		if len(pdus) != 1 || !bytes.Equal(pdus[0], want) {
			t.Fatalf("reply %x, want %x", pdus, want)
		}
		if len(evs) != 1 || evs[0].Kind != EventChannelClosed || evs[0].Err != nil || ch.State() != StateClosed || s.Channel(0x40) != nil {
			t.Fatalf("events %v", evs)
		}
	})
	t.Run("unknown DCID", func(t *testing.T) {
		s := newSignaling(t, nil)
		rs, evs := handleRaw(t, s, t0, vs["disconnection-req"].b[HeaderLen:])
		wantReply(t, rs, 4, &CommandReject{Reason: RejectInvalidCID, LocalCID: 0x41, RemoteCID: 0x40})
		if len(evs) != 0 {
			t.Errorf("events %v", evs)
		}
	})
	t.Run("SCID mismatch", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch := openChannel(t, s, 0x41)
		rs, evs := handle(t, s, t0, 4, &DisconnectionRequest{DCID: 0x40, SCID: 0x42})
		if len(rs)+len(evs) != 0 || ch.State() != StateOpen {
			t.Errorf("replies %v events %v", rs, evs)
		}
	})
	t.Run("by us", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch := openChannel(t, s, 0x41)
		ch.txCredits = 0
		ch.Send([]byte{1, 2, 3}, func([]byte) error { return nil })
		pdu, err := s.Disconnect(t0, ch)
		if err != nil {
			t.Fatal(err)
		}
		r := decodeReply(t, pdu)
		if diff := cmp.Diff(&DisconnectionRequest{DCID: 0x41, SCID: 0x40}, r.sig); diff != "" {
			t.Fatalf("request (-want +got):\n%s", diff)
		}
		// Data stops at once.
		if ch.State() != StateDisconnecting || ch.Pending() != 0 || ch.Stats().Dropped != 1 {
			t.Errorf("channel %v pending %d", ch, ch.Pending())
		}
		if _, _, err := ch.Receive([]byte{0, 0}); !errors.Is(err, ErrClosed) {
			t.Errorf("Receive while disconnecting: %v", err)
		}
		if _, err := s.Disconnect(t0, ch); !errors.Is(err, ErrClosed) {
			t.Errorf("second Disconnect: %v", err)
		}
		// A response with the CIDs wrong is discarded.
		if rs, evs := handle(t, s, t0, r.ident, &DisconnectionResponse{DCID: 0x40, SCID: 0x41}); len(rs)+len(evs) != 0 {
			t.Errorf("mismatched response: %v %v", rs, evs)
		}
		rs, evs := handle(t, s, t0, r.ident, &DisconnectionResponse{DCID: 0x41, SCID: 0x40})
		if len(rs) != 0 || len(evs) != 1 || evs[0].Kind != EventChannelClosed || evs[0].Err != nil || s.Channel(0x40) != nil {
			t.Fatalf("replies %v events %v", rs, evs)
		}
		var d Delivery
		if err := s.Dispatch(t0, []byte{2, 0, 0x40, 0, 0, 0}, &d); !errors.Is(err, ErrUnknownCID) {
			t.Errorf("K-frame after close: %v", err)
		}
	})
	t.Run("crossing requests", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch := openChannel(t, s, 0x41)
		pdu, _ := s.Disconnect(t0, ch)
		ident := decodeReply(t, pdu).ident
		rs, evs := handle(t, s, t0, 50, &DisconnectionRequest{DCID: 0x40, SCID: 0x41})
		wantReply(t, rs, 50, &DisconnectionResponse{DCID: 0x40, SCID: 0x41})
		if len(evs) != 1 || evs[0].Kind != EventChannelClosed {
			t.Fatalf("events %v", evs)
		}
		if rs, evs := handle(t, s, t0, ident, &DisconnectionResponse{DCID: 0x41, SCID: 0x40}); len(rs)+len(evs) != 0 {
			t.Errorf("late response: %v %v", rs, evs)
		}
	})
	t.Run("rejected", func(t *testing.T) {
		s := newSignaling(t, nil)
		ch := openChannel(t, s, 0x41)
		pdu, _ := s.Disconnect(t0, ch)
		_, evs := handle(t, s, t0, decodeReply(t, pdu).ident, &CommandReject{Reason: RejectInvalidCID, LocalCID: 0x41, RemoteCID: 0x40})
		if len(evs) != 1 || evs[0].Kind != EventChannelClosed || !errors.Is(evs[0].Err, ErrRejected) {
			t.Fatalf("events %v", evs)
		}
	})
}

func TestSignalingNotUnderstood(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  []byte
	}{
		{"enhanced credit based connection request", []byte{0x17, 3, 10, 0, 0x23, 0, 64, 0, 23, 0, 1, 0, 0x40, 0}},
		{"enhanced credit based connection response", []byte{0x18, 3, 8, 0, 64, 0, 23, 0, 1, 0, 0, 0}},
		{"enhanced reconfigure request", []byte{0x19, 3, 6, 0, 64, 0, 23, 0, 0x40, 0}},
		{"BR/EDR connection request", []byte{0x02, 3, 4, 0, 1, 0, 0x40, 0}},
		{"BR/EDR information request", []byte{0x0a, 3, 2, 0, 2, 0}},
		{"echo request", []byte{0x08, 3, 0, 0}},
		{"code 0xff", []byte{0xff, 3, 0, 0}},
		{"code 0", []byte{0x00, 3, 0, 0}},
		{"disconnection request too short", []byte{0x06, 3, 3, 0, 0x40, 0, 0x41}},
		{"LE connection request too long", []byte{0x14, 3, 11, 0, 0x23, 0, 0x40, 0, 0, 5, 23, 0, 1, 0, 0}},
		{"credit ind too short", []byte{0x16, 3, 2, 0, 0x40, 0}},
		{"length field beyond the C-frame", []byte{0x06, 3, 8, 0, 0x40, 0, 0x41, 0}},
		{"length field short of the C-frame", []byte{0x06, 3, 2, 0, 0x40, 0, 0x41, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSignaling(t, nil)
			rs, evs := handleRaw(t, s, t0, c.cmd)
			wantReply(t, rs, 3, &CommandReject{Reason: RejectNotUnderstood})
			if len(evs) != 0 {
				t.Errorf("events %v", evs)
			}
		})
	}
}

func TestSignalingDiscarded(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  []byte
	}{
		{"empty", nil},
		{"3 octets", []byte{0x06, 1, 4}},
		{"identifier 0", []byte{0x06, 0, 4, 0, 0x40, 0, 0x41, 0}},
		{"unsolicited Command Reject", []byte{0x01, 9, 2, 0, 0, 0}},
		{"malformed Command Reject", []byte{0x01, 9, 3, 0, 0, 0, 0}},
		{"unsolicited disconnection response", []byte{0x07, 9, 4, 0, 0x40, 0, 0x41, 0}},
		{"malformed LE connection response", []byte{0x15, 9, 2, 0, 0, 0}},
		{"response with a bad length field", []byte{0x15, 9, 20, 0, 0, 0}},
		{"connection parameter update response", []byte{0x13, 9, 2, 0, 0, 0}},
		{"credits for an unknown channel", []byte{0x16, 9, 4, 0, 0x40, 0, 5, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSignaling(t, nil)
			if rs, evs := handleRaw(t, s, t0, c.cmd); len(rs)+len(evs) != 0 {
				t.Errorf("replies %v events %v", rs, evs)
			}
		})
	}
}

func TestSignalingMTUExceeded(t *testing.T) {
	s := newSignaling(t, nil)
	cmd := append([]byte{0x14, 6, 20, 0}, make([]byte, 20)...) // 24 octets
	rs, _ := handleRaw(t, s, t0, cmd)
	wantReply(t, rs, 6, &CommandReject{Reason: RejectSignalingMTU, SignalingMTU: 23})
	// A larger MTUsig takes it (and finds it not understood).
	s = newSignaling(t, func(c *SignalingConfig) { c.SignalingMTU = 64 })
	rs, _ = handleRaw(t, s, t0, cmd)
	wantReply(t, rs, 6, &CommandReject{Reason: RejectNotUnderstood})
}

func TestSignalingConnParamUpdate(t *testing.T) {
	vs := readVectors(t)
	s := newSignaling(t, nil)
	pdus, evs := s.Handle(t0, vs["conn-param-update-req"].b[HeaderLen:])
	if len(pdus) != 1 || !bytes.Equal(pdus[0], vs["conn-param-update-ok"].b) {
		t.Fatalf("reply %x", pdus)
	}
	want := ConnParams{IntervalMin: 24, IntervalMax: 40, Latency: 0, Timeout: 42}
	if len(evs) != 1 || evs[0].Kind != EventConnParamUpdate || evs[0].Params != want {
		t.Fatalf("events %v", evs)
	}
	rs, evs := handle(t, s, t0, 6, &ConnParamUpdateRequest{ConnParams{IntervalMin: 40, IntervalMax: 24, Timeout: 42}})
	wantReply(t, rs, 6, &ConnParamUpdateResponse{Result: ConnParamRejected})
	if len(evs) != 0 {
		t.Errorf("events %v", evs)
	}
	// §4.20: a peripheral does not understand it.
	p := newSignaling(t, func(c *SignalingConfig) { c.Role = RolePeripheral })
	rs, evs = handleRaw(t, p, t0, vs["conn-param-update-req"].b[HeaderLen:])
	wantReply(t, rs, 5, &CommandReject{Reason: RejectNotUnderstood})
	if len(evs) != 0 {
		t.Errorf("events %v", evs)
	}
}

func TestSignalingCredits(t *testing.T) {
	s := newSignaling(t, nil)
	ch := openChannel(t, s, 0x41)
	ch.txCredits = 0
	ch.Send(make([]byte, 100), func([]byte) error { return nil })
	// The indication names the peer's CID (§4.24).
	rs, evs := handle(t, s, t0, 8, &FlowControlCreditInd{CID: 0x41, Credits: 5})
	if len(rs) != 0 || len(evs) != 1 || evs[0].Kind != EventCredits || evs[0].Channel != ch || ch.Credits() != 5 {
		t.Fatalf("replies %v events %v credits %d", rs, evs, ch.Credits())
	}
	var sent int
	if n, err := ch.Resume(func([]byte) error { sent++; return nil }); n != 5 || err != nil || sent != 5 || ch.Pending() != 0 {
		t.Errorf("Resume: %d %v", n, err)
	}
	handle(t, s, t0, 8, &FlowControlCreditInd{CID: 0x41, Credits: 1})
	// Our own CID in it is someone else's channel: ignored. So are zero
	// credits.
	for _, ind := range []FlowControlCreditInd{{CID: 0x40, Credits: 5}, {CID: 0x41, Credits: 0}} {
		if rs, evs := handle(t, s, t0, 9, &ind); len(rs)+len(evs) != 0 {
			t.Errorf("%+v: %v %v", ind, rs, evs)
		}
	}
	// Overflow: the channel is disconnected (§10.1).
	rs, evs = handle(t, s, t0, 10, &FlowControlCreditInd{CID: 0x41, Credits: 65535})
	if len(evs) != 1 || evs[0].Kind != EventProtocolError || !errors.Is(evs[0].Err, ErrCreditOverflow) {
		t.Fatalf("events %v", evs)
	}
	wantReply(t, rs, rs[0].ident, &DisconnectionRequest{DCID: 0x41, SCID: 0x40})
	if ch.State() != StateDisconnecting {
		t.Errorf("channel %v", ch)
	}
}

func TestSignalingLinkClosed(t *testing.T) {
	s := newSignaling(t, nil)
	ch1 := openChannel(t, s, 0x41)
	ch2, _, _ := s.Connect(t0, PSMIPSP)
	evs := s.LinkClosed()
	if len(evs) != 2 || evs[0].Kind != EventChannelClosed || evs[0].Channel != ch1 || evs[1].Kind != EventConnectFailed ||
		evs[1].Channel != ch2 || !errors.Is(evs[0].Err, ErrClosed) || len(s.Channels()) != 0 {
		t.Errorf("events %v", evs)
	}
	if _, ok := s.NextExpiry(); ok {
		t.Error("requests still wait")
	}
}

func TestDispatch(t *testing.T) {
	s := newSignaling(t, nil)
	var d Delivery
	// The peer's connection request through Dispatch.
	req := AppendSignal(nil, 1, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x41, MTU: 1280, MPS: 100, InitialCredits: 10})
	if err := s.Dispatch(t0, req, &d); err != nil || d.CID != CIDLESignaling || len(d.Replies) != 1 || len(d.Events) != 1 {
		t.Fatalf("%v %+v", err, d)
	}
	ch := d.Events[0].Channel
	// The peer's SDU of 150 octets in one K-frame (our MPS is 247).
	sdu := pattern(150, 4)
	k1 := append([]byte{152, 0, 0x40, 0, 150, 0}, sdu...)
	if err := s.Dispatch(t0, k1, &d); err != nil || !bytes.Equal(d.SDU, sdu) || d.Channel != ch || len(d.Replies) != 0 {
		t.Fatalf("%v SDU %x replies %d", err, d.SDU, len(d.Replies))
	}
	// Five more single-K-frame SDUs: the peer's credits fall to 6 of 12,
	// and the credits come back in one indication.
	var creditPDU []byte
	for i := range 5 {
		if err := s.Dispatch(t0, []byte{3, 0, 0x40, 0, 1, 0, byte(i)}, &d); err != nil || len(d.SDU) != 1 {
			t.Fatalf("%v %+v", err, d)
		}
		if len(d.Replies) > 0 {
			creditPDU = d.Replies[0]
		}
	}
	r := decodeReply(t, creditPDU)
	if diff := cmp.Diff(&FlowControlCreditInd{CID: 0x40, Credits: 6}, r.sig); diff != "" {
		t.Errorf("credits (-want +got):\n%s", diff)
	}
	// ATT goes back to the host.
	if err := s.Dispatch(t0, []byte{1, 0, 4, 0, 0x0a}, &d); err != nil || d.CID != CIDATT || !bytes.Equal(d.Payload, []byte{0x0a}) {
		t.Errorf("ATT: %v %+v", err, d)
	}
	// A bad PDU.
	if err := s.Dispatch(t0, []byte{9, 0, 4, 0}, &d); !errors.Is(err, ErrBadLength) {
		t.Errorf("bad length: %v", err)
	}
	// A K-frame above our MPS: protocol error, disconnection starts.
	big := binary.LittleEndian.AppendUint16([]byte{0, 0, 0x40, 0}, 248)
	big = append(big, make([]byte, 248-2+2)...)
	binary.LittleEndian.PutUint16(big, uint16(len(big)-HeaderLen))
	err := s.Dispatch(t0, big, &d)
	if !errors.Is(err, ErrProtocol) || len(d.Events) != 1 || d.Events[0].Kind != EventProtocolError || len(d.Replies) != 1 {
		t.Fatalf("%v %+v", err, d)
	}
	if diff := cmp.Diff(&DisconnectionRequest{DCID: 0x41, SCID: 0x40}, decodeReply(t, d.Replies[0]).sig); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestDispatchAllocations(t *testing.T) {
	s := newSignaling(t, nil)
	var d Delivery
	req := AppendSignal(nil, 1, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x41, MTU: 1280, MPS: 247, InitialCredits: 10})
	if err := s.Dispatch(t0, req, &d); err != nil {
		t.Fatal(err)
	}
	// A 1280-octet SDU in K-frames of 247.
	peer, err := NewChannel(ChannelConfig{}, PSMIPSP, 0x41, Peer{CID: 0x40, MTU: 1280, MPS: 247, InitialCredits: 65535})
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	peer.Send(pattern(1280, 0), func(k []byte) error { frames = append(frames, append([]byte(nil), k...)); return nil })
	run := func() {
		for _, k := range frames {
			if err := s.Dispatch(t0, k, &d); err != nil {
				t.Fatal(err)
			}
		}
		if len(d.SDU) != 1280 {
			t.Fatalf("SDU of %d", len(d.SDU))
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("Dispatch: %v allocations per SDU", n)
	}
}

// The allocation-free credit indication is the same PDU as AppendSignal's,
// and the known answer.
func TestAppendCredits(t *testing.T) {
	vs := readVectors(t)
	if got := appendCreditPDU(nil, 3, 0x40, 6); !bytes.Equal(got, vs["flow-control-credit"].b) {
		t.Errorf("%x, want %x", got, vs["flow-control-credit"].b)
	}
	s := newSignaling(t, nil)
	ch := openChannel(t, s, 0x41)
	if b := s.AppendCredits([]byte{9}, ch); !bytes.Equal(b, []byte{9}) {
		t.Errorf("nothing due: %x", b)
	}
	for range 6 {
		if _, _, err := ch.Receive([]byte{0, 0}); err != nil {
			t.Fatal(err)
		}
	}
	b := s.AppendCredits(nil, ch)
	r := decodeReply(t, b)
	if diff := cmp.Diff(&FlowControlCreditInd{CID: 0x40, Credits: 6}, r.sig); diff != "" || r.ident == 0 {
		t.Errorf("ident %d (-want +got):\n%s", r.ident, diff)
	}
}
