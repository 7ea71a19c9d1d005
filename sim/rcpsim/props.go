package rcpsim

import (
	"context"
	"math/bits"
	"slices"
	"time"

	"github.com/lowpanbr/lowpanbr/sim/medium"
	"github.com/lowpanbr/lowpanbr/spinel"
)

// Capacity of each source-match table: the simulation platform's
// (examples/platforms/utils/soft_source_match_table.h,
// RADIO_CONFIG_SRC_MATCH_*_ENTRY_NUM = OPENTHREAD_CONFIG_MLE_MAX_CHILDREN,
// 128 in openthread-core-simulation-config.h).
const srcMatchEntries = 128

// OpenThread's otError values the RCP passes through as Spinel status
// 16384 + error when they have no Spinel equivalent (ncp_base.cpp
// ThreadErrorToSpinelStatus, default case).
const otErrorNoAddress = 10

// state is what a RESET_STACK clears: NcpBase's per-interface radio state
// (ncp_base.cpp CommandHandler_RESET), LinkRaw (link_raw.cpp Init), SubMac
// (sub_mac.cpp Init) and the radio's filters (radio.cpp Radio::Init).
type state struct {
	// phyEnabled is LinkRaw::IsEnabled (PHY_ENABLED set: the receive
	// callback is installed and SubMac enabled). Nearly every radio
	// setting needs it (link_raw.cpp, link_raw_api.cpp: INVALID_STATE).
	phyEnabled bool
	// rawStream is NcpBase mIsRawStreamEnabled (MAC_RAW_STREAM_ENABLED).
	rawStream bool
	// channel is LinkRaw mReceiveChannel: PHY_CHAN as set and read.
	channel uint8
	// receiving: the radio is in its receive state (SubMac::Receive), on
	// rxChannel; otherwise asleep or disabled. It can differ from
	// channel: a transmission leaves it on its own channel or on its
	// "RX channel after TX" (sub_mac.cpp HandleTransmitDone).
	receiving    bool
	rxChannel    uint8
	rxOnWhenIdle bool // SubMac mRxOnWhenIdle, true after Init
	panID        uint16
	shortAddr    uint16
	extAddr      [8]byte // canonical order, as the host set it
	promiscuous  bool
	// srcMatchEnabled is NcpBase mSrcMatchEnabled.
	srcMatchEnabled bool
	srcShort        []uint16
	srcExt          [][8]byte
	// scanChannel is NcpBase mCurScanChannel: the channel of the energy
	// scan under way, or -1.
	scanChannel int
}

func initialState() state {
	return state{
		channel:      11, // OPENTHREAD_CONFIG_DEFAULT_CHANNEL
		rxChannel:    11,
		rxOnWhenIdle: true,
		panID:        0xffff, // kPanIdBroadcast
		shortAddr:    0xfffe, // kShortAddrInvalid
		scanChannel:  -1,
	}
}

// platform is what only a reboot clears: the platform radio's settings
// (examples/platforms/simulation/radio.c sTxPower, sCcaEdThresh) and
// NcpBase members RESET_STACK leaves alone (mScanChannelMask, mScanPeriod).
type platform struct {
	txPower      int8
	ccaThreshold int8
	scanMask     uint32 // bit n: channel n
	scanPeriod   uint16 // ms
}

func initialPlatform() platform {
	return platform{
		txPower:      0,
		ccaThreshold: -74,
		scanMask:     0x07fff800, // Radio::kSupportedChannels, 2.4 GHz: 11–26
		scanPeriod:   200,        // NcpBase constructor
	}
}

// get answers PROP_VALUE_GET (ncp_base_dispatcher.cpp
// FindGetPropertyHandler, RCP build): properties without a GET handler are
// PROP_NOT_FOUND, even those that can be set.
func (r *RCP) get(p spinel.Prop) ([]byte, spinel.Status) {
	r.mu.Lock()
	s, pl, eui, last := r.st, r.plat, r.eui64, r.last
	r.mu.Unlock()
	switch p {
	case spinel.PropLastStatus:
		return spinel.AppendPackedUint(nil, uint32(last)), spinel.StatusOK
	case spinel.PropProtocolVersion:
		return spinel.AppendProtocolVersion(nil, r.cfg.ProtocolMajor, spinel.ProtocolVersionMinor), spinel.StatusOK
	case spinel.PropNCPVersion:
		return spinel.AppendUTF8(nil, r.cfg.Firmware), spinel.StatusOK
	case spinel.PropInterfaceType:
		return spinel.AppendPackedUint(nil, spinel.InterfaceTypeThread), spinel.StatusOK
	case spinel.PropVendorID:
		return spinel.AppendPackedUint(nil, 0), spinel.StatusOK
	case spinel.PropCaps:
		return spinel.AppendCaps(nil, r.cfg.Caps), spinel.StatusOK
	case spinel.PropHWAddr:
		return spinel.AppendEUI64(nil, eui), spinel.StatusOK
	case spinel.PropRCPAPIVersion:
		if !spinel.HasCap(r.cfg.Caps, spinel.CapRCPAPIVersion) {
			return nil, spinel.StatusPropNotFound
		}
		return spinel.AppendPackedUint(nil, r.cfg.RCPAPIVersion), spinel.StatusOK
	case spinel.PropRCPMinHostAPIVersion:
		if !spinel.HasCap(r.cfg.Caps, spinel.CapRCPMinHostAPIVersion) {
			return nil, spinel.StatusPropNotFound
		}
		return spinel.AppendPackedUint(nil, r.cfg.MinHostAPIVersion), spinel.StatusOK
	case spinel.PropRadioCaps:
		// sub_mac.cpp GetCaps on the simulation platform: the platform's
		// TRANSMIT_SEC plus what SubMac does in software, and
		// SLEEP_TO_TX in an RCP build: 0x7f (01-startup.txt).
		caps := spinel.RadioCapAckTimeout | spinel.RadioCapEnergyScan | spinel.RadioCapTransmitRetries |
			spinel.RadioCapCSMABackoff | spinel.RadioCapSleepToTx | spinel.RadioCapTransmitSec |
			spinel.RadioCapTransmitTiming
		return spinel.AppendPackedUint(nil, uint32(caps)), spinel.StatusOK
	case spinel.PropPHYEnabled:
		return spinel.AppendBool(nil, s.phyEnabled), spinel.StatusOK
	case spinel.PropPHYChan:
		return []byte{s.channel}, spinel.StatusOK
	case spinel.PropPHYTxPower:
		return spinel.AppendInt8(nil, pl.txPower), spinel.StatusOK
	case spinel.PropPHYCCAThreshold:
		return spinel.AppendInt8(nil, pl.ccaThreshold), spinel.StatusOK
	case spinel.PropPHYRxSensitivity:
		return spinel.AppendInt8(nil, -100), spinel.StatusOK // radio.c SIM_RECEIVE_SENSITIVITY
	case spinel.PropPHYRSSI:
		ch := s.rxChannel
		if ch < medium.MinChannel || ch > medium.MaxChannel {
			ch = s.channel
		}
		rssi, err := r.node.EnergyScan(context.Background(), ch, 128*time.Microsecond)
		if err != nil {
			return nil, spinel.StatusFailure
		}
		return spinel.AppendInt8(nil, rssi), spinel.StatusOK
	case spinel.PropMAC154PANID:
		return spinel.AppendUint16(nil, s.panID), spinel.StatusOK
	case spinel.PropMAC154SAddr:
		return spinel.AppendUint16(nil, s.shortAddr), spinel.StatusOK
	case spinel.PropMAC154LAddr:
		return spinel.AppendEUI64(nil, s.extAddr), spinel.StatusOK
	case spinel.PropMACRawStreamEnabled:
		return spinel.AppendBool(nil, s.rawStream), spinel.StatusOK
	case spinel.PropMACPromiscuousMode:
		// ncp_base.cpp: the radio knows on or off only; on reads as FULL.
		if s.promiscuous {
			return []byte{spinel.PromiscuousFull}, spinel.StatusOK
		}
		return []byte{spinel.PromiscuousOff}, spinel.StatusOK
	case spinel.PropMACSrcMatchEnabled:
		return spinel.AppendBool(nil, s.srcMatchEnabled), spinel.StatusOK
	case spinel.PropMACScanMask:
		var v []byte
		for m := pl.scanMask; m != 0; m &= m - 1 {
			v = append(v, uint8(bits.TrailingZeros32(m)))
		}
		return v, spinel.StatusOK
	case spinel.PropMACScanPeriod:
		return spinel.AppendUint16(nil, pl.scanPeriod), spinel.StatusOK
	case spinel.PropMACScanState:
		// HandlePropertyGet<SPINEL_PROP_MAC_SCAN_STATE>: energy while
		// mCurScanChannel is set, and only with the PHY enabled.
		if s.phyEnabled && s.scanChannel >= 0 {
			return []byte{spinel.ScanStateEnergy}, spinel.StatusOK
		}
		return []byte{spinel.ScanStateIdle}, spinel.StatusOK
	}
	return nil, spinel.StatusPropNotFound
}

// setAndAnswer handles PROP_VALUE_SET of everything but STREAM_RAW
// (ncp_base.cpp HandleCommandPropertySet): no SET handler is
// PROP_NOT_FOUND; a handler's error is LAST_STATUS; success is the
// property's value as GET reads it, or LAST_STATUS OK for a property
// without a GET handler (WritePropertyValueIsFrame).
func (r *RCP) setAndAnswer(ctx context.Context, tid uint8, p spinel.Prop, v []byte) {
	if st := r.set(ctx, p, v); st != spinel.StatusOK {
		r.status(tid, st)
		return
	}
	val, st := r.get(p)
	if st != spinel.StatusOK {
		r.status(tid, spinel.StatusOK)
		return
	}
	r.reply(tid, spinel.CmdPropValueIs, p, val)
}

// set applies a PROP_VALUE_SET (ncp_base.cpp, ncp_base_radio.cpp
// HandlePropertySet<…>, RCP build).
func (r *RCP) set(ctx context.Context, p spinel.Prop, v []byte) spinel.Status {
	rd := spinel.NewReader(v, p.String())
	r.mu.Lock()
	defer func() {
		r.mu.Unlock()
		r.applyToNode()
	}()
	s := &r.st
	// Most radio properties go through LinkRaw, which refuses them until
	// PHY_ENABLED (link_raw.cpp, link_raw_api.cpp: VerifyOrExit(IsEnabled(),
	// error = kErrorInvalidState)).
	needPHY := func() spinel.Status {
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		if !s.phyEnabled {
			return spinel.StatusInvalidState
		}
		return spinel.StatusOK
	}
	switch p {
	case spinel.PropPHYEnabled:
		on := rd.Bool()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		switch {
		case on && !s.phyEnabled:
			// LinkRaw::SetReceiveDone → SubMac::Enable: the radio is
			// enabled and asleep (sub_mac.cpp Enable).
			s.phyEnabled, s.receiving = true, false
		case !on && s.phyEnabled:
			// SubMac::Disable stops its timer: a transmission or scan
			// under way never reports (mCurScanChannel stays set).
			s.phyEnabled, s.receiving = false, false
			r.abandonLocked()
		}
	case spinel.PropPHYChan:
		// Read as a packed integer and truncated to 8 bits; LinkRaw
		// SetChannel stores it unchecked; the receiver moves only while
		// the raw stream is on (HandlePropertySet<SPINEL_PROP_PHY_CHAN>).
		ch := rd.PackedUint()
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.channel = uint8(ch)
		if s.rawStream {
			s.receiving, s.rxChannel = true, s.channel
		}
	case spinel.PropPHYTxPower:
		// Platform setting: no PHY_ENABLED needed.
		pw := rd.I8()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		r.plat.txPower = pw
	case spinel.PropPHYCCAThreshold:
		th := rd.I8()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		r.plat.ccaThreshold = th
	case spinel.PropMAC154PANID:
		id := rd.U16()
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.panID = id
	case spinel.PropMAC154SAddr:
		a := rd.U16()
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.shortAddr = a
	case spinel.PropMAC154AltSAddr:
		rd.U16()
		return needPHY() // the medium has no alternate short address
	case spinel.PropMAC154LAddr:
		a := rd.EUI64()
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.extAddr = a
	case spinel.PropMACRawStreamEnabled:
		// The flag is stored whatever happens; with the PHY enabled the
		// radio receives on PHY_CHAN or sleeps.
		on := rd.Bool()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		if s.phyEnabled {
			s.receiving = on
			if on {
				s.rxChannel = s.channel
			}
		}
		s.rawStream = on
	case spinel.PropMACRxOnWhenIdleMode:
		on := rd.Bool()
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.rxOnWhenIdle = on
	case spinel.PropMACPromiscuousMode:
		mode := rd.U8()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		if mode > spinel.PromiscuousFull {
			return spinel.StatusInvalidArgument
		}
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.promiscuous = mode != spinel.PromiscuousOff
	case spinel.PropMACSrcMatchEnabled:
		// NcpBase stores the flag before asking the radio, so it sticks
		// even when the radio refuses.
		on := rd.Bool()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		s.srcMatchEnabled = on
		return needPHY()
	case spinel.PropMACSrcMatchShortAddresses:
		// Clear, then add each whole entry; a full table stops with
		// NO_BUFS, keeping what was added.
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.srcShort = s.srcShort[:0]
		for rd.Len() >= 2 {
			if len(s.srcShort) >= srcMatchEntries {
				return spinel.StatusNoMem
			}
			s.srcShort = append(s.srcShort, rd.U16())
		}
	case spinel.PropMACSrcMatchExtendedAddresses:
		if st := needPHY(); st != spinel.StatusOK {
			return st
		}
		s.srcExt = s.srcExt[:0]
		for rd.Len() >= 8 {
			if len(s.srcExt) >= srcMatchEntries {
				return spinel.StatusNoMem
			}
			s.srcExt = append(s.srcExt, rd.EUI64())
		}
	case spinel.PropMACScanMask:
		// DecodeChannelMask: one byte per channel, each at most 31.
		var mask uint32
		for rd.Len() > 0 {
			ch := rd.U8()
			if ch > 31 {
				return spinel.StatusInvalidArgument
			}
			mask |= 1 << ch
		}
		r.plat.scanMask = mask
	case spinel.PropMACScanPeriod:
		per := rd.U16()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		r.plat.scanPeriod = per
	case spinel.PropMACScanState:
		st := rd.U8()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		return r.setScanStateLocked(ctx, st)
	default:
		return spinel.StatusPropNotFound
	}
	return spinel.StatusOK
}

// setScanStateLocked is HandlePropertySet<SPINEL_PROP_MAC_SCAN_STATE> in
// an RCP build. IDLE is accepted and does nothing (it does not stop a
// scan). ENERGY with the PHY disabled is accepted and does nothing (the
// Thread-stack branch is compiled out), so it reads back IDLE. Otherwise
// a scan must not be under way (INVALID_STATE), the scan mask must hold
// exactly one channel (INVALID_ARGUMENT), and SubMac::EnergyScan refuses
// while a transmission is under way (INVALID_STATE) — after NcpBase has
// recorded the scan channel, which then stays set until a reset: every
// later ENERGY is INVALID_STATE and SCAN_STATE reads ENERGY. The answer
// comes at once (IS SCAN_STATE = ENERGY); MAC_ENERGY_SCAN_RESULT and
// SCAN_STATE = IDLE follow when the scan period is over
// (ncp_base_radio.cpp LinkRawEnergyScanDone). Callers hold mu.
func (r *RCP) setScanStateLocked(ctx context.Context, st uint8) spinel.Status {
	s := &r.st
	switch st {
	case spinel.ScanStateIdle:
		return spinel.StatusOK
	case spinel.ScanStateEnergy:
	default:
		return spinel.StatusUnimplemented // beacon and discover scans are Thread-stack only
	}
	if !s.phyEnabled {
		return spinel.StatusOK
	}
	if s.scanChannel >= 0 {
		return spinel.StatusInvalidState
	}
	mask := r.plat.scanMask
	if mask == 0 || mask&(mask-1) != 0 {
		return spinel.StatusInvalidArgument
	}
	ch := uint8(31 - bits.LeadingZeros32(mask)) // IndexOfMSB
	s.scanChannel = int(ch)
	if r.txCur != 0 {
		return spinel.StatusInvalidState
	}
	r.startScanLocked(ctx, ch, time.Duration(r.plat.scanPeriod)*time.Millisecond)
	return spinel.StatusOK
}

// insertRemove handles PROP_VALUE_INSERT and _REMOVE: only the
// source-match tables have handlers in an RCP build (ncp_base_radio.cpp).
// Inserting adds an entry even when it is there already (the simulation
// platform's soft_source_match_table.c takes a free slot); removing an
// absent one fails with otError NO_ADDRESS, passed through as a native
// status.
func (r *RCP) insertRemove(insert bool, p spinel.Prop, v []byte) spinel.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	rd := spinel.NewReader(v, p.String())
	s := &r.st
	switch p {
	case spinel.PropMACSrcMatchShortAddresses:
		a := rd.U16()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		if !s.phyEnabled {
			return spinel.StatusInvalidState
		}
		return editTable(&s.srcShort, a, insert)
	case spinel.PropMACSrcMatchExtendedAddresses:
		a := rd.EUI64()
		if rd.Err() != nil {
			return spinel.StatusParseError
		}
		if !s.phyEnabled {
			return spinel.StatusInvalidState
		}
		return editTable(&s.srcExt, a, insert)
	}
	return spinel.StatusPropNotFound
}

func editTable[T comparable](table *[]T, v T, insert bool) spinel.Status {
	if insert {
		if len(*table) >= srcMatchEntries {
			return spinel.StatusNoMem
		}
		*table = append(*table, v)
		return spinel.StatusOK
	}
	i := slices.Index(*table, v)
	if i < 0 {
		return spinel.StatusStackNativeBegin + otErrorNoAddress
	}
	*table = slices.Delete(*table, i, i+1)
	return spinel.StatusOK
}
