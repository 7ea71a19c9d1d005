package spinel

import "fmt"

// Typed values of the properties an RCP host exchanges. Decoders fill a
// reused struct without allocating: byte-slice fields alias the value they
// were decoded from.

// MaxPSDU is the largest IEEE 802.15.4 PSDU, FCS included
// (aMaxPHYPacketSize).
const MaxPSDU = 127

// Transmit defaults an OpenThread RCP applies to optional fields missing from
// a SET STREAM_RAW (ncp_base_radio.cpp, DecodeStreamRawTxRequest).
const (
	DefaultMaxCSMABackoffs = 4  // OPENTHREAD_CONFIG_MAC_MAX_CSMA_BACKOFFS_DIRECT
	DefaultMaxFrameRetries = 15 // OPENTHREAD_CONFIG_MAC_DEFAULT_MAX_FRAME_RETRIES_DIRECT
	// TxPowerUnset asks the RCP to use its configured power
	// (OT_RADIO_POWER_INVALID is 127, not -128).
	TxPowerUnset int8 = 127
	// NoiseFloorUnknown is what an OpenThread RCP always sends as the
	// noise floor of a received frame.
	NoiseFloorUnknown int8 = -128
)

// Receive metadata flags (spinel.h, SPINEL_MD_FLAG_*).
const (
	RxFlagTx                = 0x0001 // the frame was transmitted, not received
	RxFlagBadFCS            = 0x0004
	RxFlagDuplicate         = 0x0008
	RxFlagAckedFramePending = 0x0010 // acknowledged with frame pending set
	RxFlagAckedSecEnhAck    = 0x0020 // acknowledged with a secure enhanced ACK
)

// TxRequest is the value of SET STREAM_RAW: one frame to transmit and how.
// Encoded as `dCCCbbbbLLCc`, in the order OpenThread's RadioSpinel::Transmit
// sends it.
type TxRequest struct {
	// PSDU is the MAC frame including its two FCS bytes, whose value is
	// ignored: the radio computes the FCS.
	PSDU             []byte
	Channel          uint8 // required
	MaxCSMABackoffs  uint8
	MaxFrameRetries  uint8
	CSMAEnabled      bool
	HeaderUpdated    bool // the host already set frame counter and key ID
	IsRetransmission bool
	// SecurityProcessed: the host already secured the frame.
	SecurityProcessed bool
	TxDelay           uint32 // µs after TxDelayBase (CSL); 0: at once
	TxDelayBase       uint32
	RxChannelAfterTx  uint8
	TxPower           int8 // dBm; TxPowerUnset for the configured power
}

// AppendTxRequest appends the value of SET STREAM_RAW for t: every field,
// as OpenThread's host does.
func AppendTxRequest(b []byte, t *TxRequest) []byte {
	b = AppendDataWithLen(b, t.PSDU)
	return appendTxRequestFields(b, t)
}

// appendTxRequestFields appends what follows the PSDU in a SET STREAM_RAW
// value.
func appendTxRequestFields(b []byte, t *TxRequest) []byte {
	b = append(b, t.Channel, t.MaxCSMABackoffs, t.MaxFrameRetries)
	b = AppendBool(b, t.CSMAEnabled)
	b = AppendBool(b, t.HeaderUpdated)
	b = AppendBool(b, t.IsRetransmission)
	b = AppendBool(b, t.SecurityProcessed)
	b = AppendUint32(b, t.TxDelay)
	b = AppendUint32(b, t.TxDelayBase)
	b = append(b, t.RxChannelAfterTx, byte(t.TxPower))
	return b
}

// Decode parses a SET STREAM_RAW value the way an OpenThread RCP does: the
// PSDU (at most 127 bytes) and the channel are required; the other fields
// are optional and parsing stops, without error, at the first one that is
// missing or malformed, leaving it and the rest at the RCP's defaults.
// t.PSDU aliases value.
func (t *TxRequest) Decode(value []byte) error {
	r := NewReader(value, "TxRequest")
	psdu := r.DataWithLen()
	if r.err == nil && len(psdu) > MaxPSDU {
		r.Fail("PSDU", fmt.Errorf("%d bytes: %w", len(psdu), ErrBadValue))
	}
	ch := r.U8()
	if err := r.Err(); err != nil {
		return err
	}
	*t = TxRequest{
		PSDU:             psdu,
		Channel:          ch,
		MaxCSMABackoffs:  DefaultMaxCSMABackoffs,
		MaxFrameRetries:  DefaultMaxFrameRetries,
		CSMAEnabled:      true,
		RxChannelAfterTx: ch,
		TxPower:          TxPowerUnset,
	}
	if r.Len() < 1 {
		return nil
	}
	t.MaxCSMABackoffs = r.U8()
	if r.Len() < 1 {
		return nil
	}
	t.MaxFrameRetries = r.U8()
	for _, p := range [...]*bool{&t.CSMAEnabled, &t.HeaderUpdated, &t.IsRetransmission, &t.SecurityProcessed} {
		if r.Len() < 1 || r.b[0] > 1 {
			return nil
		}
		*p = r.Bool()
	}
	if r.Len() < 4 {
		return nil
	}
	t.TxDelay = r.U32()
	if r.Len() < 4 {
		return nil
	}
	t.TxDelayBase = r.U32()
	if r.Len() < 1 {
		return nil
	}
	t.RxChannelAfterTx = r.U8()
	if r.Len() < 1 {
		return nil
	}
	t.TxPower = r.I8()
	return nil
}

// RxFrame is a received frame with its metadata: the value of an unsolicited
// IS STREAM_RAW, and the acknowledgement inside a transmit-done. On the wire
// (ncp_base_radio.cpp, PackRadioFrame):
//
//	d        PSDU, FCS included (empty when RxError is set)
//	c        RSSI, dBm
//	c        noise floor, dBm (OpenThread: always -128)
//	S        flags (RxFlag*)
//	t(CCX)   PHY data: channel, LQI, timestamp in µs
//	t(i)     vendor data: receive error (an otError, not a Spinel status)
//	t(CL)    MAC data: key ID and frame counter of the ACK we sent
//
// Later firmware may add fields inside the structs or more structs after
// them; Decode skips both.
type RxFrame struct {
	PSDU            []byte
	RSSI            int8
	NoiseFloor      int8
	Flags           uint16
	Channel         uint8
	LQI             uint8
	Timestamp       uint64 // µs, the radio's clock
	RxError         OTError
	AckKeyID        uint8
	AckFrameCounter uint32
}

// Decode parses an RxFrame value. f.PSDU aliases value. The fields up to the
// vendor struct are required (as OpenThread's host requires them); the MAC
// data struct and anything after it are optional.
func (f *RxFrame) Decode(value []byte) error {
	r := NewReader(value, "RxFrame")
	f.decode(&r)
	return r.Err()
}

func (f *RxFrame) decode(r *Reader) {
	*f = RxFrame{}
	f.PSDU = r.DataWithLen()
	if r.err == nil && len(f.PSDU) > MaxPSDU {
		r.Fail("PSDU", fmt.Errorf("%d bytes: %w", len(f.PSDU), ErrBadValue))
	}
	f.RSSI = r.I8()
	f.NoiseFloor = r.I8()
	f.Flags = r.U16()
	phy := r.Struct()
	f.Channel = phy.U8()
	f.LQI = phy.U8()
	f.Timestamp = phy.U64()
	if phy.err != nil && r.err == nil {
		r.err = phy.err
	}
	vendor := r.Struct()
	f.RxError = OTError(vendor.PackedUint())
	if vendor.err != nil && r.err == nil {
		r.err = vendor.err
	}
	if r.err != nil {
		return
	}
	if r.peekStruct() {
		mac := r.Struct()
		f.AckKeyID = mac.U8()
		f.AckFrameCounter = mac.U32()
	}
}

// AppendRxFrame appends f exactly as an OpenThread RCP sends it, MAC data
// struct included. When f.RxError is set the PSDU is sent empty, as the RCP
// does.
func AppendRxFrame(b []byte, f *RxFrame) []byte {
	if f.RxError != OTErrorNone {
		b = AppendDataWithLen(b, nil)
	} else {
		b = AppendDataWithLen(b, f.PSDU)
	}
	b = append(b, byte(f.RSSI), byte(f.NoiseFloor))
	b = AppendUint16(b, f.Flags)
	b, s := OpenStruct(b)
	b = append(b, f.Channel, f.LQI)
	b = AppendUint64(b, f.Timestamp)
	b = CloseStruct(b, s)
	b, s = OpenStruct(b)
	b = AppendPackedUint(b, uint32(f.RxError))
	b = CloseStruct(b, s)
	b, s = OpenStruct(b)
	b = append(b, f.AckKeyID)
	b = AppendUint32(b, f.AckFrameCounter)
	return CloseStruct(b, s)
}

// TxDone is a transmission's outcome. An OpenThread RCP answers SET
// STREAM_RAW not at once but when the transmission ends, with IS
// LAST_STATUS carrying the request's TID and this value
// (ncp_base_radio.cpp, LinkRawTransmitDone):
//
//	i        status: OK, NO_ACK, CCA_FAILURE, or 16384+otError (StatusAbort)
//	b        frame pending bit of the ACK
//	b        header updated (the RCP set frame counter / key ID)
//	...      only when status is OK: the ACK in the RxFrame layout (empty
//	         PSDU when none was requested)
//	C L      only when the RCP secured the frame and updated its header:
//	         key ID and frame counter it used
//
// A SET STREAM_RAW the RCP refuses up front (raw stream off, busy) is
// answered at once with IS LAST_STATUS (same TID) holding only the status.
type TxDone struct {
	Status        Status
	FramePending  bool
	HeaderUpdated bool
	// Ack is the acknowledgement when HasAck; its PSDU aliases the value.
	Ack    RxFrame
	HasAck bool
	// KeyID and FrameCounter are the security fields the RCP used, when
	// HasSecurity.
	HasSecurity  bool
	KeyID        uint8
	FrameCounter uint32
}

// Decode parses a transmit-done value.
func (d *TxDone) Decode(value []byte) error {
	r := NewReader(value, "TxDone")
	*d = TxDone{}
	d.Status = Status(r.PackedUint())
	d.FramePending = r.Bool()
	d.HeaderUpdated = r.Bool()
	if r.err != nil {
		return r.err
	}
	if d.Status == StatusOK && r.Len() > 0 {
		d.Ack.decode(&r)
		if r.err != nil {
			return r.err
		}
		d.HasAck = len(d.Ack.PSDU) > 0
	}
	if r.Len() >= 5 {
		d.HasSecurity = true
		d.KeyID = r.U8()
		d.FrameCounter = r.U32()
	}
	return nil
}

// AppendTxDone appends d exactly as an OpenThread RCP sends it. With status
// OK and no ACK it writes the empty ACK the RCP writes (RSSI 0, noise floor
// -128, everything else zero).
func AppendTxDone(b []byte, d *TxDone) []byte {
	b = AppendPackedUint(b, uint32(d.Status))
	b = AppendBool(b, d.FramePending)
	b = AppendBool(b, d.HeaderUpdated)
	if d.Status == StatusOK {
		if d.HasAck {
			b = AppendRxFrame(b, &d.Ack)
		} else {
			b = AppendRxFrame(b, &RxFrame{NoiseFloor: NoiseFloorUnknown})
		}
	}
	if d.HasSecurity {
		b = append(b, d.KeyID)
		b = AppendUint32(b, d.FrameCounter)
	}
	return b
}

// EnergyScanResult is the value of the unsolicited IS
// MAC_ENERGY_SCAN_RESULT (`Cc`) an RCP sends when a scan of one channel
// ends (followed by IS MAC_SCAN_STATE = idle).
type EnergyScanResult struct {
	Channel uint8
	MaxRSSI int8 // dBm
}

// Decode parses the value.
func (e *EnergyScanResult) Decode(value []byte) error {
	r := NewReader(value, "MAC_ENERGY_SCAN_RESULT")
	ch, rssi := r.U8(), r.I8()
	if err := r.Err(); err != nil {
		return err
	}
	*e = EnergyScanResult{Channel: ch, MaxRSSI: rssi}
	return nil
}

// AppendEnergyScanResult appends the value.
func AppendEnergyScanResult(b []byte, e EnergyScanResult) []byte {
	return append(b, e.Channel, byte(e.MaxRSSI))
}

// DecodeProtocolVersion parses PROTOCOL_VERSION (`ii`).
func DecodeProtocolVersion(value []byte) (major, minor uint32, err error) {
	r := NewReader(value, "PROTOCOL_VERSION")
	major, minor = r.PackedUint(), r.PackedUint()
	if err := r.Err(); err != nil {
		return 0, 0, err
	}
	return major, minor, nil
}

// AppendProtocolVersion appends PROTOCOL_VERSION.
func AppendProtocolVersion(b []byte, major, minor uint32) []byte {
	return AppendPackedUint(AppendPackedUint(b, major), minor)
}

// ReadCaps appends the capabilities in a CAPS value (`A(i)`) to dst.
func ReadCaps(dst []Cap, value []byte) ([]Cap, error) {
	r := NewReader(value, "CAPS")
	for r.Len() > 0 {
		c := r.PackedUint()
		if err := r.Err(); err != nil {
			return dst, err
		}
		dst = append(dst, Cap(c))
	}
	return dst, nil
}

// AppendCaps appends a CAPS value.
func AppendCaps(b []byte, caps []Cap) []byte {
	for _, c := range caps {
		b = AppendPackedUint(b, uint32(c))
	}
	return b
}

// HasCap reports whether caps lists c.
func HasCap(caps []Cap, c Cap) bool {
	for _, x := range caps {
		if x == c {
			return true
		}
	}
	return false
}

// ReadShortAddrs appends the addresses of an `A(S)` value
// (MAC_SRC_MATCH_SHORT_ADDRESSES) to dst. A trailing partial item is an
// error.
func ReadShortAddrs(dst []uint16, value []byte) ([]uint16, error) {
	r := NewReader(value, "A(S)")
	for r.Len() > 0 {
		v := r.U16()
		if err := r.Err(); err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// AppendShortAddrs appends an `A(S)` value.
func AppendShortAddrs(b []byte, addrs []uint16) []byte {
	for _, a := range addrs {
		b = AppendUint16(b, a)
	}
	return b
}

// ReadEUI64s appends the addresses of an `A(E)` value
// (MAC_SRC_MATCH_EXTENDED_ADDRESSES, canonical byte order) to dst. A
// trailing partial item is an error.
func ReadEUI64s(dst [][8]byte, value []byte) ([][8]byte, error) {
	r := NewReader(value, "A(E)")
	for r.Len() > 0 {
		v := r.EUI64()
		if err := r.Err(); err != nil {
			return dst, err
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// AppendEUI64s appends an `A(E)` value.
func AppendEUI64s(b []byte, addrs [][8]byte) []byte {
	for _, a := range addrs {
		b = append(b, a[:]...)
	}
	return b
}
