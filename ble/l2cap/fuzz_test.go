package l2cap

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// frames splits fuzz input into chunks, each prefixed by a 1-octet length.
func frames(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := min(int(data[0]), len(data)-1)
		out = append(out, data[1:1+n])
		data = data[1+n:]
	}
	return out
}

func join(chunks ...[]byte) []byte {
	var b []byte
	for _, c := range chunks {
		b = append(b, byte(len(c)))
		b = append(b, c...)
	}
	return b
}

// FuzzSignaling feeds sequences of C-frames into one Signaling that has an
// open channel, a connection request and a disconnection request waiting.
// Handle must never panic; every reply must be one well-formed command on
// CID 0x0005 that our decoders accept, with a non-zero identifier, never
// answering a response; the channel table must stay within its bounds.
func FuzzSignaling(f *testing.F) {
	vs := readVectors(f)
	for _, v := range vs {
		switch v.form {
		case "pdu":
			f.Add(join(v.b[HeaderLen:]))
			f.Add(join(v.b[HeaderLen : len(v.b)-1])) // truncated
			f.Add(join(append(v.b[HeaderLen:], 0)))  // one octet too many
		case "cmd":
			f.Add(join(v.b))
		}
	}
	f.Add(join(AppendCommand(nil, 1, ipspReq(0x50)), AppendCommand(nil, 2, &DisconnectionRequest{DCID: 0x41, SCID: 0x50})))
	f.Add(join(AppendCommand(nil, 1, &LECreditConnResponse{DestinationCID: 0x60, MTU: 23, MPS: 23, InitialCredits: 1})))
	f.Add(join(AppendCommand(nil, 2, &DisconnectionResponse{DCID: 0x45, SCID: 0x40})))
	f.Add(join(AppendCommand(nil, 7, &FlowControlCreditInd{CID: 0x45, Credits: 65535}), AppendCommand(nil, 8, &FlowControlCreditInd{CID: 0x45, Credits: 1})))
	f.Add(join(append([]byte{0x14, 5, 20, 0}, make([]byte, 20)...)))
	f.Add(join([]byte{0x17, 3, 10, 0, 0x23, 0, 23, 0, 23, 0, 1, 0, 0x42, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewSignaling(SignalingConfig{Role: RoleCentral, MaxChannels: 4, Accept: func(r *LECreditConnRequest) Result {
			if r.PSM == PSMIPSP || r.PSM == 0x80 {
				return ResultSuccess
			}
			return ResultSPSMNotSupported
		}})
		if err != nil {
			t.Fatal(err)
		}
		// Our channel 0x40 ↔ 0x45, a request for 0x41 (identifier 1),
		// then our channel's disconnection (identifier 2).
		if _, evs := s.Handle(t0, AppendCommand(nil, 9, ipspReq(0x45))); len(evs) != 1 {
			t.Fatal("setup")
		}
		if _, _, err := s.Connect(t0, PSMIPSP); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Disconnect(t0, s.Channel(0x40)); err != nil {
			t.Fatal(err)
		}
		// Reopen a channel to receive credits.
		s.Handle(t0, AppendCommand(nil, 10, ipspReq(0x46)))
		now := t0
		for _, cf := range frames(data) {
			now = now.Add(time.Second)
			replies, events := s.Handle(now, cf)
			for _, r := range replies {
				checkReply(t, cf, r)
			}
			for _, e := range events {
				if e.Kind < EventChannelOpened || e.Kind > EventConnParamUpdate {
					t.Fatalf("event %v", e)
				}
				if e.Kind == EventConnParamUpdate {
					if err := e.Params.Validate(); err != nil {
						t.Fatalf("accepted %+v: %v", e.Params, err)
					}
				}
			}
			checkTable(t, s)
			s.Expire(now)
		}
	})
}

// checkReply checks one reply PDU to command cf.
func checkReply(t *testing.T, cf, r []byte) {
	t.Helper()
	p, err := ParsePDU(r)
	if err != nil || p.CID() != CIDLESignaling {
		t.Fatalf("reply %x: %v", r, err)
	}
	if len(p.Payload()) > MinSignalingMTU {
		t.Fatalf("reply of %d octets above the minimum MTUsig", len(p.Payload()))
	}
	cmd, err := ParseCommand(p.Payload())
	if err != nil {
		t.Fatalf("reply %x: %v", r, err)
	}
	if _, err := decodeSignal(cmd.Code(), cmd.Data()); err != nil {
		t.Fatalf("reply %x: %v", r, err)
	}
	if len(cf) >= 2 && Code(cf[0]).isResponse() && cmd.Code().isResponse() {
		// A response may lead to a request of ours (a Disconnection
		// Request closing a channel the peer opened with bad parameters),
		// never to an answer.
		t.Fatalf("answered a %v: %x", Code(cf[0]), r)
	}
	if !cmd.Code().isResponse() && cmd.Code() != CodeDisconnectionRequest && cmd.Code() != CodeFlowControlCreditInd {
		t.Fatalf("reply %v", cmd.Code())
	}
	if cmd.Code().isResponse() && (len(cf) < 2 || cmd.Identifier() != cf[1]) {
		t.Fatalf("reply identifier %d to %x", cmd.Identifier(), cf)
	}
}

// checkTable checks the channel table's invariants.
func checkTable(t *testing.T, s *Signaling) {
	t.Helper()
	if len(s.channels) > s.cfg.MaxChannels {
		t.Fatalf("%d channels", len(s.channels))
	}
	locals, remotes := map[CID]bool{}, map[CID]bool{}
	for _, ch := range s.channels {
		if !ch.local.IsDynamic() || locals[ch.local] || ch.state == StateClosed {
			t.Fatalf("channel %v", ch)
		}
		locals[ch.local] = true
		if ch.state != StateConnecting {
			if !ch.remote.IsDynamic() || remotes[ch.remote] {
				t.Fatalf("channel %v: remote CID", ch)
			}
			remotes[ch.remote] = true
		}
	}
	idents := map[uint8]bool{}
	for _, p := range s.pending {
		if p.ident == 0 || idents[p.ident] || s.Channel(p.ch.local) != p.ch {
			t.Fatalf("pending %+v", p)
		}
		idents[p.ident] = true
	}
}

// FuzzReassembly feeds random K-frames into a channel (MTU 100, MPS 30, 4
// credits returned by the policy) and checks every outcome against a
// plain model of §3.4/§10.1: never a panic, never an SDU above the MTU,
// the buffer never grows, credits never above the grant.
func FuzzReassembly(f *testing.F) {
	kf := func(sduLen, n int) []byte {
		return append(binary.LittleEndian.AppendUint16(nil, uint16(sduLen)), pattern(n, sduLen)...)
	}
	f.Add(join(kf(0, 0)))
	f.Add(join(kf(28, 28)))
	f.Add(join(kf(100, 28), pattern(30, 1), pattern(30, 2), pattern(12, 3)))
	f.Add(join(kf(100, 28), pattern(30, 1), pattern(30, 2), pattern(13, 3))) // overrun
	f.Add(join(kf(101, 10)))                                                 // above MTU
	f.Add(join(kf(20, 29)))                                                  // above MPS and overrun
	f.Add(join([]byte{7}))                                                   // truncated SDU Length
	f.Add(join(kf(90, 1), nil, nil, nil, nil, nil, nil))                     // out of credits without returns
	f.Fuzz(func(t *testing.T, data []byte) {
		const mtu, mps, grant = 100, 30, 4
		ch, err := NewChannel(ChannelConfig{MTU: mtu, MPS: mps, InitialCredits: grant}, PSMIPSP, 0x40, Peer{CID: 0x40, MTU: 23, MPS: 23})
		if err != nil {
			t.Fatal(err)
		}
		// The model.
		var busy bool
		var want int
		var buf []byte
		credits := grant
		ins := frames(data)
		for i, k := range ins {
			// Every third K-frame, the receiver forgets to return credits
			// (a lazy host): credit exhaustion must be caught.
			returnCredits := i%3 != 2
			sdu, done, err := ch.Receive(k)
			var wantErr error
			wantDone := false
			switch {
			case credits == 0:
				wantErr = ErrNoCredits
			case len(k) > mps:
				wantErr = ErrMPSExceeded
			case !busy && len(k) < 2:
				wantErr = ErrTruncated
			case !busy && int(binary.LittleEndian.Uint16(k)) > mtu:
				wantErr = ErrMTUExceeded
			default:
				d := k
				if !busy {
					want, buf, busy = int(binary.LittleEndian.Uint16(k)), buf[:0], true
					d = k[2:]
				}
				if len(buf)+len(d) > want {
					wantErr = ErrSDUOverrun
					break
				}
				buf = append(buf, d...)
				if len(buf) == want {
					wantDone, busy = true, false
				}
			}
			if credits > 0 {
				credits--
			}
			if wantErr != nil {
				busy = false
				if !errors.Is(err, ErrProtocol) || !errors.Is(err, wantErr) {
					t.Fatalf("K-frame %d %x: err %v, want %v", i, k, err, wantErr)
				}
			} else if err != nil || done != wantDone || (done && string(sdu) != string(buf)) {
				t.Fatalf("K-frame %d %x: %x %v %v, model %x %v", i, k, sdu, done, err, buf, wantDone)
			}
			if len(sdu) > mtu || len(ch.rxBuf) != mtu || cap(ch.rxBuf) != mtu {
				t.Fatalf("SDU of %d, buffer %d/%d", len(sdu), len(ch.rxBuf), cap(ch.rxBuf))
			}
			if returnCredits {
				n := ch.CreditsToReturn()
				if credits <= grant/2 {
					credits += int(n)
				} else if n != 0 {
					t.Fatalf("returned %d credits with %d held", n, credits)
				}
			}
			if int(ch.PeerCredits()) != credits || credits > grant {
				t.Fatalf("peer credits %d, model %d", ch.PeerCredits(), credits)
			}
		}
	})
}
