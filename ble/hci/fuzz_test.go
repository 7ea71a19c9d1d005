package hci

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// chunkReader hands out at most n octets per Read.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.b)
	c.b = c.b[k:]
	return k, nil
}

type h4Result struct {
	Typ PacketType
	Pkt []byte
	Err string
}

func readAllH4(r io.Reader, maxACL int) []h4Result {
	h := NewH4Reader(r, maxACL)
	var out []h4Result
	for {
		t, p, err := h.ReadPacket()
		res := h4Result{Typ: t, Pkt: bytes.Clone(p)}
		if err != nil {
			res.Err = err.Error()
		}
		out = append(out, res)
		if err != nil && !errors.Is(err, ErrUnsupportedPacket) && !errors.Is(err, ErrTooLarge) {
			return out
		}
	}
}

// FuzzH4Reader reads arbitrary streams: no panic, every packet delivered
// parses as its type says within the limits, and the packets and errors
// are the same however the stream is chunked.
func FuzzH4Reader(f *testing.F) {
	stream, _, _ := h4Stream(f)
	f.Add(stream, uint16(0), uint8(7))
	f.Add(stream[:len(stream)-3], uint16(20), uint8(1))
	f.Add([]byte{0x03, 0x01, 0x00, 0x02, 0xAA, 0xBB, 0x05, 0x01, 0x00, 0x01, 0xC0, 0x5A, 0x04, 0x10, 0x01, 0x42}, uint16(0), uint8(3))
	f.Add([]byte{0x02, 0x01, 0x00, 0xFF, 0xFF}, uint16(100), uint8(255))
	f.Add([]byte{0x07}, uint16(0), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, maxACL uint16, chunk uint8) {
		limit := int(maxACL)
		if limit == 0 {
			limit = DefaultMaxACLData
		}
		whole := readAllH4(bytes.NewReader(stream), int(maxACL))
		chunked := readAllH4(&chunkReader{b: stream, n: int(chunk%16) + 1}, int(maxACL))
		if diff := cmp.Diff(whole, chunked); diff != "" {
			t.Fatalf("whole vs chunked (-whole +chunked):\n%s", diff)
		}
		total := 0
		for _, r := range whole {
			if r.Err != "" {
				continue
			}
			total += 1 + len(r.Pkt)
			var err error
			switch r.Typ {
			case PacketCommand:
				_, err = ParseCommand(r.Pkt)
			case PacketEvent:
				_, err = ParseEvent(r.Pkt)
			case PacketACL:
				var a ACL
				if a, err = ParseACL(r.Pkt); err == nil && len(a.Data()) > limit {
					t.Fatalf("ACL of %d data octets over the %d limit", len(a.Data()), limit)
				}
			default:
				t.Fatalf("delivered a %v packet", r.Typ)
			}
			if err != nil {
				t.Fatalf("delivered %v packet % x does not parse: %v", r.Typ, r.Pkt, err)
			}
		}
		if total > len(stream) {
			t.Fatalf("delivered %d octets from %d", total, len(stream))
		}
	})
}

var allEventCodes = []EventCode{EventDisconnectionComplete, EventCommandComplete, EventCommandStatus, EventHardwareError,
	EventNumberOfCompletedPackets, EventDataBufferOverflow, EventLEMeta}

var allSubevents = []LESubevent{LESubeventConnectionComplete, LESubeventAdvertisingReport, LESubeventConnectionUpdateComplete,
	LESubeventDataLengthChange, LESubeventEnhancedConnectionComplete, LESubeventPHYUpdateComplete}

// again re-encodes a parsed value and parses it again: the values must
// agree (parsers ignore trailing octets, so the octets may not).
func again[T any](t *testing.T, name string, v T, enc func(T) ([]byte, error), parse func(Event) (T, error)) {
	b, err := enc(v)
	if err != nil {
		t.Fatalf("%s: re-encoding %+v: %v", name, v, err)
	}
	e, err := ParseEvent(b)
	if err != nil {
		t.Fatalf("%s: re-encoded % x: %v", name, b, err)
	}
	w, err := parse(e)
	if err != nil {
		t.Fatalf("%s: re-parsing % x: %v", name, b, err)
	}
	if diff := cmp.Diff(v, w, cmp.Comparer(func(a, b []byte) bool { return bytes.Equal(a, b) })); diff != "" {
		t.Fatalf("%s: round trip (-first +second):\n%s", name, diff)
	}
}

func sentinel(t *testing.T, err error) {
	t.Helper()
	var se *StatusError
	for _, s := range []error{ErrShort, ErrMalformed, ErrWrongEvent, ErrTooLarge} {
		if errors.Is(err, s) {
			return
		}
	}
	if !errors.As(err, &se) {
		t.Fatalf("error without a sentinel: %v", err)
	}
}

// checkEvent runs every typed event parser on e and round-trips what
// parses.
func checkEvent(t *testing.T, e Event) {
	if v, err := ParseDisconnectionComplete(e); err == nil {
		again(t, "DisconnectionComplete", v, noErr[DisconnectionComplete], ParseDisconnectionComplete)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseCommandComplete(e); err == nil {
		again(t, "CommandComplete", v, func(c CommandComplete) ([]byte, error) { return c.Append(nil) }, ParseCommandComplete)
		_, _ = v.Status()
		_ = v.Err()
		checkReturnParams(t, v.ReturnParameters)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseCommandStatus(e); err == nil {
		again(t, "CommandStatus", v, noErr[CommandStatus], ParseCommandStatus)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseHardwareError(e); err == nil {
		again(t, "HardwareError", v, noErr[HardwareError], ParseHardwareError)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseDataBufferOverflow(e); err == nil {
		again(t, "DataBufferOverflow", v, noErr[DataBufferOverflow], ParseDataBufferOverflow)
	} else {
		sentinel(t, err)
	}
	if n, err := ParseNumberOfCompletedPackets(e); err == nil {
		var hcs []HandleCount
		for hc := range n.All() {
			hcs = append(hcs, hc)
		}
		if len(hcs) != n.Len() {
			t.Fatalf("All yielded %d of %d", len(hcs), n.Len())
		}
		if len(hcs) <= 63 {
			b, err := AppendNumberOfCompletedPackets(nil, hcs...)
			if err != nil {
				t.Fatal(err)
			}
			e2, _ := ParseEvent(b)
			n2, err := ParseNumberOfCompletedPackets(e2)
			if err != nil || n2.Len() != len(hcs) {
				t.Fatalf("re-encoded completed packets: %v", err)
			}
		}
	} else {
		sentinel(t, err)
	}
	if v, err := ParseLEConnectionComplete(e); err == nil {
		again(t, "LEConnectionComplete", v, noErr[LEConnectionComplete], ParseLEConnectionComplete)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseLEEnhancedConnectionComplete(e); err == nil {
		again(t, "LEEnhancedConnectionComplete", v, noErr[LEEnhancedConnectionComplete], ParseLEEnhancedConnectionComplete)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseLEConnectionUpdateComplete(e); err == nil {
		again(t, "LEConnectionUpdateComplete", v, noErr[LEConnectionUpdateComplete], ParseLEConnectionUpdateComplete)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseLEDataLengthChange(e); err == nil {
		again(t, "LEDataLengthChange", v, noErr[LEDataLengthChange], ParseLEDataLengthChange)
	} else {
		sentinel(t, err)
	}
	if v, err := ParseLEPHYUpdateComplete(e); err == nil {
		again(t, "LEPHYUpdateComplete", v, noErr[LEPHYUpdateComplete], ParseLEPHYUpdateComplete)
	} else {
		sentinel(t, err)
	}
	if r, err := ParseLEAdvertisingReport(e); err == nil {
		var reps []AdvReport
		for rep := range r.All() {
			if len(rep.Data) > MaxAdvDataLen {
				t.Fatalf("report with %d data octets", len(rep.Data))
			}
			_ = ADHasUUID16(rep.Data, UUIDInternetProtocolSupport)
			reps = append(reps, rep)
		}
		if len(reps) != r.Len() {
			t.Fatalf("All yielded %d of %d reports", len(reps), r.Len())
		}
		b, err := AppendLEAdvertisingReport(nil, reps...)
		if err != nil {
			t.Fatalf("re-encoding reports: %v", err)
		}
		if !bytes.Equal(b, e) {
			t.Fatalf("reports re-encode to % x, were % x", b, []byte(e))
		}
	} else {
		sentinel(t, err)
	}
}

func checkReturnParams(t *testing.T, rp []byte) {
	for _, parse := range []func([]byte) (any, error){
		func(b []byte) (any, error) { return ParseReadBDAddrReturn(b) },
		func(b []byte) (any, error) { return ParseReadLocalVersionReturn(b) },
		func(b []byte) (any, error) { return ParseReadLocalSupportedCommandsReturn(b) },
		func(b []byte) (any, error) { return ParseReadLocalSupportedFeaturesReturn(b) },
		func(b []byte) (any, error) { return ParseLEReadBufferSizeReturn(b) },
		func(b []byte) (any, error) { return ParseLEReadBufferSizeV2Return(b) },
		func(b []byte) (any, error) { return ParseLEReadLocalSupportedFeaturesReturn(b) },
		func(b []byte) (any, error) { return ParseLEReadMaximumDataLengthReturn(b) },
		func(b []byte) (any, error) { return ParseLEReadSuggestedDefaultDataLengthReturn(b) },
		func(b []byte) (any, error) { return ParseLESetDataLengthReturn(b) },
	} {
		if _, err := parse(rp); err != nil {
			sentinel(t, err)
		}
	}
}

// FuzzParseEvent parses arbitrary events and runs every typed parser (and
// every return-parameter parser) on them, on their parameters under every
// event code and, for LE Meta, every subevent code: no panic, errors wrap
// a sentinel, and what parses re-encodes to the same values.
func FuzzParseEvent(f *testing.F) {
	for _, v := range vectors() {
		if v.typ == PacketEvent {
			p, _ := v.build()
			f.Add(p)
		}
	}
	f.Add([]byte{0x3E, 0x01, 0x02})
	f.Add([]byte{0x13, 0x01, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseEvent(b)
		if err != nil {
			sentinel(t, err)
			return
		}
		if len(e) != EventHeaderLen+int(e[1]) {
			t.Fatalf("ParseEvent accepted % x", b)
		}
		checkEvent(t, e)
		p := e.Params()
		for _, c := range allEventCodes {
			eb, _ := AppendEvent(nil, c, p)
			checkEvent(t, Event(eb))
		}
		if len(p) < MaxParamLen {
			for _, s := range allSubevents {
				eb, _ := AppendLEMetaEvent(nil, s, p)
				checkEvent(t, Event(eb))
			}
		}
	})
}

// FuzzParseCommand parses arbitrary commands and runs every command
// parameter parser on their parameters.
func FuzzParseCommand(f *testing.F) {
	for _, v := range vectors() {
		if v.typ == PacketCommand {
			p, _ := v.build()
			f.Add(p)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			sentinel(t, err)
			return
		}
		_ = c.Opcode().String()
		p := c.Params()
		check := func(name string, enc func() []byte, err error, reparse func([]byte) (any, error)) {
			if err != nil {
				sentinel(t, err)
				return
			}
			b := enc()
			c2, err := ParseCommand(b)
			if err != nil {
				t.Fatalf("%s: re-encoded % x: %v", name, b, err)
			}
			if _, err := reparse(c2.Params()); err != nil {
				t.Fatalf("%s: re-parsing % x: %v", name, b, err)
			}
		}
		if v, err := ParseDisconnect(p); true {
			check("Disconnect", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseDisconnect(b) })
		}
		if v, err := ParseSetEventMask(p); true {
			check("SetEventMask", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseSetEventMask(b) })
		}
		if v, err := ParseLESetEventMask(p); true {
			check("LESetEventMask", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetEventMask(b) })
		}
		if v, err := ParseLESetRandomAddress(p); true {
			check("LESetRandomAddress", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetRandomAddress(b) })
		}
		if v, err := ParseLESetAdvertisingParameters(p); true {
			check("LESetAdvertisingParameters", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetAdvertisingParameters(b) })
		}
		if v, err := ParseLESetAdvertisingData(p); true {
			check("LESetAdvertisingData", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetAdvertisingData(b) })
			if err == nil {
				_ = ValidateAD(v.Bytes())
			}
		}
		if v, err := ParseLESetScanResponseData(p); true {
			check("LESetScanResponseData", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetScanResponseData(b) })
		}
		if v, err := ParseLESetAdvertisingEnable(p); true {
			check("LESetAdvertisingEnable", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetAdvertisingEnable(b) })
		}
		if v, err := ParseLESetScanParameters(p); true {
			check("LESetScanParameters", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetScanParameters(b) })
		}
		if v, err := ParseLESetScanEnable(p); true {
			check("LESetScanEnable", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetScanEnable(b) })
		}
		if v, err := ParseLECreateConnection(p); true {
			check("LECreateConnection", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLECreateConnection(b) })
		}
		if v, err := ParseLEConnectionUpdate(p); true {
			check("LEConnectionUpdate", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLEConnectionUpdate(b) })
		}
		if v, err := ParseLESetDataLength(p); true {
			check("LESetDataLength", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetDataLength(b) })
		}
		if v, err := ParseLEWriteSuggestedDefaultDataLength(p); true {
			check("LEWriteSuggestedDefaultDataLength", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLEWriteSuggestedDefaultDataLength(b) })
		}
		if v, err := ParseLESetDefaultPHY(p); true {
			check("LESetDefaultPHY", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetDefaultPHY(b) })
		}
		if v, err := ParseLESetPHY(p); true {
			check("LESetPHY", func() []byte { return v.AppendCommand(nil) }, err, func(b []byte) (any, error) { return ParseLESetPHY(b) })
		}
	})
}

// modelReassembler is a plain, allocating reassembler with the same
// rules as ACLReassembler, written without slots, to compare with.
type modelReassembler struct {
	max   int
	state map[uint16]*modelPDU
}

type modelPDU struct {
	buf     []byte
	want    int // -1 until the Length is in
	discard bool
	have    int // octets skipped, when discarding
}

func (m *modelReassembler) feed(h uint16, pb PBFlag, d []byte) ([]byte, error) {
	switch pb {
	case PBFirstNonFlushable, PBFirstFlushable:
		var interrupted error
		if old := m.state[h]; old != nil && !old.discard {
			interrupted = ErrInterrupted
		}
		delete(m.state, h)
		if len(d) < 2 {
			m.state[h] = &modelPDU{buf: append([]byte(nil), d...), want: -1}
			return nil, interrupted
		}
		want := int(binary.LittleEndian.Uint16(d)) + 4
		switch {
		case want > m.max:
			if len(d) < want {
				m.state[h] = &modelPDU{discard: true, have: len(d), want: want}
			}
			return nil, errors.Join(interrupted, ErrTooLarge)
		case len(d) > want:
			return nil, errors.Join(interrupted, ErrOverlong)
		case len(d) == want:
			return d, interrupted
		}
		m.state[h] = &modelPDU{buf: append([]byte(nil), d...), want: want}
		return nil, interrupted
	case PBContinuing:
		s := m.state[h]
		if s == nil {
			return nil, ErrNoStart
		}
		if s.discard {
			if s.have += len(d); s.have >= s.want {
				delete(m.state, h)
			}
			return nil, nil
		}
		s.buf = append(s.buf, d...)
		if s.want < 0 {
			if len(s.buf) < 2 {
				return nil, nil
			}
			s.want = int(binary.LittleEndian.Uint16(s.buf)) + 4
			if s.want > m.max {
				*s = modelPDU{discard: true, have: len(s.buf), want: s.want}
				if s.have >= s.want {
					delete(m.state, h)
				}
				return nil, ErrTooLarge
			}
		}
		if len(s.buf) > s.want {
			delete(m.state, h)
			return nil, ErrOverlong
		}
		if len(s.buf) == s.want {
			delete(m.state, h)
			return s.buf, nil
		}
		return nil, nil
	}
	return nil, ErrMalformed
}

// FuzzACLReassembler feeds arbitrary ACL packet sequences — each record
// is a flags octet (handle in bits 0–1, PB in bits 2–3, and bit 4 to call
// Remove instead) and a length octet, then the data — to a reassembler
// with room for every handle, compared with the model, and to one with
// room for only one, checked for its invariants.
func FuzzACLReassembler(f *testing.F) {
	rec := func(b []byte, h uint16, pb PBFlag, d []byte) []byte {
		return append(append(b, byte(h)|byte(pb)<<2, byte(len(d))), d...)
	}
	pdu := l2capPDU(20, 0x40, 0)
	var s []byte
	s = rec(s, 0, PBFirstNonFlushable, pdu[:7])
	s = rec(s, 1, PBFirstFlushable, pdu[:1])
	s = rec(s, 0, PBContinuing, pdu[7:])
	s = rec(s, 1, PBContinuing, pdu[1:])
	f.Add(s, uint8(30))
	f.Add(rec(rec(nil, 2, PBContinuing, pdu), 3, PBCompleteFlushable, pdu), uint8(0))
	f.Add(rec(rec(rec(nil, 1, PBFirstNonFlushable, pdu[:3]), 1, PBFirstNonFlushable, pdu), 1, PBContinuing, pdu[3:]), uint8(10))
	f.Add(append(rec(nil, 1, PBFirstNonFlushable, pdu[:3]), 0x10|1, 0), uint8(24))
	f.Fuzz(func(t *testing.T, stream []byte, maxPDU uint8) {
		max := int(maxPDU) + L2CAPHeaderLen
		r := NewACLReassembler(max, 4)
		small := NewACLReassembler(max, 1)
		m := &modelReassembler{max: max, state: map[uint16]*modelPDU{}}
		var fed, pdus uint64
		for len(stream) >= 2 {
			flags, n := stream[0], int(stream[1])
			stream = stream[2:]
			d := stream[:min(n, len(stream))]
			stream = stream[len(d):]
			h, pb := uint16(flags&3), PBFlag(flags>>2&3)
			if flags&0x10 != 0 {
				dropped := r.Remove(h)
				small.Remove(h)
				if old := m.state[h]; (old != nil && !old.discard) != dropped {
					t.Fatalf("Remove(%d) dropped %v, model disagrees", h, dropped)
				}
				delete(m.state, h)
				continue
			}
			b, err := AppendACL(nil, h, pb, 0, d)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseACL(b)
			if err != nil {
				t.Fatal(err)
			}
			fed++
			got, err := r.Feed(a)
			want, werr := m.feed(h, pb, d)
			if !bytes.Equal(got, want) || (got == nil) != (want == nil) {
				t.Fatalf("handle %d PB %v % x: PDU % x, model % x", h, pb, d, got, want)
			}
			for _, s := range []error{ErrNoStart, ErrInterrupted, ErrOverlong, ErrTooLarge, ErrMalformed} {
				if errors.Is(err, s) != errors.Is(werr, s) {
					t.Fatalf("handle %d PB %v % x: error %v, model %v", h, pb, d, err, werr)
				}
			}
			if (err == nil) != (werr == nil) {
				t.Fatalf("handle %d PB %v % x: error %v, model %v", h, pb, d, err, werr)
			}
			if got != nil {
				pdus++
				if len(got) > max || len(got) != int(binary.LittleEndian.Uint16(got))+L2CAPHeaderLen {
					t.Fatalf("PDU of %d octets, max %d: % x", len(got), max, got)
				}
			}
			// With one slot, PDUs are lost to ErrTooManyHandles (and
			// their continuations to ErrNoStart), but whatever it
			// delivers the big one delivers too.
			sp, serr := small.Feed(a)
			if sp != nil && !bytes.Equal(sp, got) {
				t.Fatalf("small reassembler: PDU % x, big % x", sp, got)
			}
			if serr != nil {
				sentinelACL(t, serr)
			}
			if len(small.slots) > 1 || len(r.slots) > 4 {
				t.Fatalf("slots grew to %d and %d", len(small.slots), len(r.slots))
			}
		}
		if s := r.Stats(); s.Fragments != fed || s.PDUs != pdus {
			t.Fatalf("Stats = %+v, fed %d, delivered %d", s, fed, pdus)
		}
	})
}

func sentinelACL(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{ErrNoStart, ErrInterrupted, ErrOverlong, ErrTooLarge, ErrTooManyHandles, ErrMalformed} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error without a sentinel: %v", err)
}

// FuzzAD iterates arbitrary advertising data: no panic, the structures
// re-encode to the octets they came from.
func FuzzAD(f *testing.F) {
	f.Add(adIPSP)
	f.Add([]byte{2, 1, 6, 0, 0})
	f.Add([]byte{5, 2, 0x20, 0x18, 0x0F})
	f.Fuzz(func(t *testing.T, ad []byte) {
		_ = ADHasUUID16(ad, UUIDInternetProtocolSupport)
		it := IterateAD(ad)
		var re []byte
		for {
			s, done, err := it.Next()
			if done {
				if err != nil && !errors.Is(err, ErrMalformed) {
					t.Fatalf("error %v", err)
				}
				break
			}
			re, err = AppendAD(re, s.Type, s.Data)
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasPrefix(ad, re) {
			t.Fatalf("structures re-encode to % x, not a prefix of % x", re, ad)
		}
	})
}
