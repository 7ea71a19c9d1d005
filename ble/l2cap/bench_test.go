package l2cap

import "testing"

// BenchmarkSend segments a 1280-octet SDU into K-frames of MPS 247 (six
// K-frames) with the peer's credits replenished every SDU.
func BenchmarkSend(b *testing.B) {
	p := newPair(b, ChannelConfig{}, ChannelConfig{MPS: 247})
	sdu := pattern(1280, 0)
	var octets int
	emit := func(k []byte) error { octets += len(k); return nil }
	b.ReportAllocs()
	b.SetBytes(int64(len(sdu)))
	for b.Loop() {
		if _, err := p.a.Send(sdu, emit); err != nil {
			b.Fatal(err)
		}
		p.a.txCredits = 6
	}
}

// BenchmarkReceive reassembles the same SDU from its six K-frames and
// returns credits.
func BenchmarkReceive(b *testing.B) {
	p := newPair(b, ChannelConfig{}, ChannelConfig{MPS: 247})
	sdu := pattern(1280, 0)
	if _, err := p.a.Send(sdu, p.emit); err != nil {
		b.Fatal(err)
	}
	var payloads [][]byte
	for _, k := range p.frames {
		payloads = append(payloads, k[HeaderLen:])
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(sdu)))
	for b.Loop() {
		for _, k := range payloads {
			if _, _, err := p.b.Receive(k); err != nil {
				b.Fatal(err)
			}
		}
		p.b.CreditsToReturn()
	}
}

// BenchmarkDispatch is the host's receive path: six PDUs through
// Signaling.Dispatch, the SDU out and credit indications built.
func BenchmarkDispatch(b *testing.B) {
	s := newSignaling(b, nil)
	var d Delivery
	req := AppendSignal(nil, 1, &LECreditConnRequest{PSM: PSMIPSP, SourceCID: 0x41, MTU: 1280, MPS: 247, InitialCredits: 10})
	if err := s.Dispatch(t0, req, &d); err != nil {
		b.Fatal(err)
	}
	peer, err := NewChannel(ChannelConfig{}, PSMIPSP, 0x41, Peer{CID: 0x40, MTU: 1280, MPS: 247, InitialCredits: 12})
	if err != nil {
		b.Fatal(err)
	}
	var pdus [][]byte
	peer.Send(pattern(1280, 0), func(k []byte) error { pdus = append(pdus, append([]byte(nil), k...)); return nil })
	b.ReportAllocs()
	b.SetBytes(1280)
	for b.Loop() {
		for _, k := range pdus {
			if err := s.Dispatch(t0, k, &d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkHandle answers an LE Credit Based Connection Request and a
// Disconnection Request (allocating: signalling is rare).
func BenchmarkHandle(b *testing.B) {
	s := newSignaling(b, nil)
	req := AppendCommand(nil, 1, ipspReq(0x41))
	disc := AppendCommand(nil, 2, &DisconnectionRequest{DCID: 0x40, SCID: 0x41})
	b.ReportAllocs()
	for b.Loop() {
		_, evs := s.Handle(t0, req)
		disc[CommandHeaderLen] = byte(evs[0].Channel.LocalCID())
		s.Handle(t0, disc)
	}
}
