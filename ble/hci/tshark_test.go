package hci

// Cross-check with Wireshark's Bluetooth dissectors (tshark), an
// implementation we did not write: every known-answer packet, plus ACL
// fragments from Fragmenter and FragmentL2CAP, is written to a pcap of link
// type 201 (LINKTYPE_BLUETOOTH_HCI_H4_WITH_PHDR: each record is a 4-octet
// big-endian direction, bit 0 set for controller to host, then the H4
// indicator and the packet; Wireshark's wiretap/pcap-common.c
// pcap_read_bt_pseudoheader reads it so). tshark dissects it, and every
// field it shows is compared with what OUR parsers read from the same
// octets — not with what the encoder was asked for.
//
// Disagreements found, and their outcome:
//   - A Command Complete carrying only a non-success Status (Unknown HCI
//     Command for LE Read Buffer Size [v2]) is "Malformed" to tshark 4.0,
//     which expects the command's whole return parameter list whatever the
//     status. Controllers answer unknown commands this way (the host has
//     to probe for v2 and fall back to v1), so our parsers accept it and
//     return a *StatusError; tshark's opcode and status agree, and the
//     test allows the malformed mark on that packet only.
//   - tshark 4.0 registers the HCI_Subversion of Read Local Version
//     Information under the same abbreviation as HCI_Version
//     (bthci_evt.hci_vers_nr shows both, in that order); the test
//     compares the pair. Not a disagreement in values.
//   - tshark 4.0 names the return parameters of LE Read Maximum Data
//     Length with the Suggested_Max_* fields of LE Read Suggested Default
//     Data Length (bthci_evt.suggested_max_tx_octets …); the values agree.
//   - tshark 4.0 has no field for bit 61 (LE Meta) of Set Event Mask, so
//     that bit is checked by the known answer only; every other mask bit
//     it names agrees.
//   - Everything else — H4 type and direction, opcodes, lengths, every
//     command parameter, every event parameter, advertising data and
//     reports, Number Of Completed Packets pairs, ACL handle/flags/length,
//     and the L2CAP PDUs our ACLReassembler rebuilds from fragments (CID,
//     length, signalling code at the same frames where tshark
//     reassembles) — agrees.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lowpanbr/lowpanbr/internal/oracle"
)

type tsharkPacket struct {
	name      string
	typ       PacketType
	dir       uint32
	pkt       []byte // without the H4 indicator
	malformed bool   // tshark is allowed to call it malformed (see above)
}

// tsharkCorpus is every known answer plus fragmented L2CAP PDUs in both
// directions.
func tsharkCorpus(t *testing.T) []tsharkPacket {
	t.Helper()
	var out []tsharkPacket
	for _, v := range vectors() {
		p, err := v.build()
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		out = append(out, tsharkPacket{name: v.name, typ: v.typ, dir: v.dir(), pkt: p,
			malformed: v.name == "Command Complete, LE Read Buffer Size v2 unknown"})
	}
	// A host sends the signalling PDU in 5-octet fragments.
	err := FragmentL2CAP(nil, l2capLECreditConnReq, 0x0040, 5, func(p []byte) error {
		out = append(out, tsharkPacket{name: fmt.Sprintf("host fragment %d", len(out)), typ: PacketACL, dir: dirHostToController, pkt: bytes.Clone(p)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A controller delivers a 1284-octet PDU on a dynamic LE channel in
	// 251-octet fragments (H4 framing included).
	big := make([]byte, L2CAPHeaderLen+1280)
	binary.LittleEndian.PutUint16(big, 1280)
	binary.LittleEndian.PutUint16(big[2:], 0x0041)
	for i := range big[L2CAPHeaderLen:] {
		big[L2CAPHeaderLen+i] = byte(i)
	}
	f := Fragmenter{MaxData: 251, First: PBFirstFlushable, H4: true}
	err = f.Fragment(big, 0x0041, func(p []byte) error {
		if PacketType(p[0]) != PacketACL {
			t.Fatalf("H4 fragment starts 0x%02x", p[0])
		}
		out = append(out, tsharkPacket{name: fmt.Sprintf("controller fragment %d", len(out)), typ: PacketACL, dir: dirControllerToHost, pkt: bytes.Clone(p[1:])})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// evtMaskBits are the Set Event Mask bits tshark 4.0 has a field for
// (bthci_cmd.evt_mask_XY is octet X, bit Y).
var evtMaskBits = []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 16, 17, 19, 20, 21, 22, 23,
	24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 56, 58, 59}

type fieldMap map[string]string

func (m fieldMap) set(name string, vals ...any) {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = fmt.Sprint(v)
	}
	if old, ok := m[name]; ok {
		m[name] = old + "," + strings.Join(s, ",")
		return
	}
	m[name] = strings.Join(s, ",")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// adFields adds what tshark shows of advertising data, as IterateAD reads
// it.
func adFields(t *testing.T, m fieldMap, ad []byte) {
	it := IterateAD(ad)
	for {
		s, done, err := it.Next()
		if err != nil {
			t.Fatalf("AD % x: %v", ad, err)
		}
		if done {
			return
		}
		m.set("btcommon.eir_ad.entry.length", len(s.Data)+1)
		m.set("btcommon.eir_ad.entry.type", uint8(s.Type))
		switch s.Type {
		case ADFlags:
			m.set("btcommon.eir_ad.entry.flags.le_limited_discoverable_mode", s.Data[0]&ADFlagLELimitedDiscoverable)
			m.set("btcommon.eir_ad.entry.flags.le_general_discoverable_mode", s.Data[0]&ADFlagLEGeneralDiscoverable>>1)
			m.set("btcommon.eir_ad.entry.flags.bredr_not_supported", s.Data[0]&ADFlagBREDRNotSupported>>2)
		case ADIncompleteUUID16s, ADCompleteUUID16s:
			for d := s.Data; len(d) >= 2; d = d[2:] {
				m.set("btcommon.eir_ad.entry.uuid_16", binary.LittleEndian.Uint16(d))
			}
		case ADCompleteLocalName:
			m.set("btcommon.eir_ad.entry.device_name", string(s.Data))
		}
	}
}

// ourFields is what our parsers read from a packet, under tshark's field
// names. reasm rebuilds L2CAP PDUs per direction.
func ourFields(t *testing.T, p tsharkPacket, reasm map[uint32]*ACLReassembler) fieldMap {
	t.Helper()
	m := fieldMap{}
	m.set("hci_h4.type", uint8(p.typ))
	m.set("hci_h4.direction", p.dir)
	fail := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: our parser: %v", p.name, err)
		}
	}
	switch p.typ {
	case PacketCommand:
		c, err := ParseCommand(p.pkt)
		fail(err)
		m.set("bthci_cmd.opcode", uint16(c.Opcode()))
		m.set("bthci_cmd.param_length", len(c.Params()))
		commandFields(t, m, c, fail)
	case PacketEvent:
		e, err := ParseEvent(p.pkt)
		fail(err)
		m.set("bthci_evt.code", uint8(e.Code()))
		m.set("bthci_evt.param_length", len(e.Params()))
		eventFields(t, m, e, fail)
	case PacketACL:
		a, err := ParseACL(p.pkt)
		fail(err)
		m.set("bthci_acl.chandle", a.Handle())
		m.set("bthci_acl.pb_flag", uint8(a.PB()))
		m.set("bthci_acl.bc_flag", a.BC())
		m.set("bthci_acl.length", len(a.Data()))
		r := reasm[p.dir]
		if r == nil {
			r = NewACLReassembler(0, 0)
			reasm[p.dir] = r
		}
		pdu, err := r.Feed(a)
		fail(err)
		if pdu != nil {
			m.set("btl2cap.length", binary.LittleEndian.Uint16(pdu))
			m.set("btl2cap.cid", binary.LittleEndian.Uint16(pdu[2:]))
			if binary.LittleEndian.Uint16(pdu[2:]) == 0x0005 {
				m.set("btl2cap.cmd_code", pdu[4])
			}
		}
	}
	return m
}

func commandFields(t *testing.T, m fieldMap, c Command, fail func(error)) {
	prm := c.Params()
	switch c.Opcode() {
	case OpDisconnect:
		d, err := ParseDisconnect(prm)
		fail(err)
		m.set("bthci_cmd.connection_handle", d.Handle)
		m.set("bthci_cmd.reason", uint8(d.Reason))
	case OpSetEventMask:
		s, err := ParseSetEventMask(prm)
		fail(err)
		for _, bit := range evtMaskBits {
			m.set(fmt.Sprintf("bthci_cmd.evt_mask_%d%d", bit/8, bit%8), s.Mask>>bit&1)
		}
	case OpLESetEventMask:
		s, err := ParseLESetEventMask(prm)
		fail(err)
		m.set("bthci_cmd.le_event_mask", s.Mask)
	case OpLESetRandomAddress:
		s, err := ParseLESetRandomAddress(prm)
		fail(err)
		m.set("bthci_cmd.bd_addr", s.Addr)
	case OpLESetAdvertisingParameters:
		s, err := ParseLESetAdvertisingParameters(prm)
		fail(err)
		m.set("bthci_cmd.le_advts_interval_min", s.IntervalMin)
		m.set("bthci_cmd.le_advts_interval_max", s.IntervalMax)
		m.set("bthci_cmd.le_advts_type", uint8(s.Type))
		m.set("bthci_cmd.le_own_address_type", uint8(s.OwnAddrType))
		m.set("bthci_cmd.le_direct_address_type", uint8(s.PeerAddrType))
		m.set("bthci_cmd.bd_addr", s.PeerAddr)
		m.set("bthci_cmd.le_advts_ch_map_1", s.ChannelMap&AdvChannel37)
		m.set("bthci_cmd.le_advts_ch_map_2", s.ChannelMap&AdvChannel38>>1)
		m.set("bthci_cmd.le_advts_ch_map_3", s.ChannelMap&AdvChannel39>>2)
		m.set("bthci_cmd.le_advts_filter_policy", s.FilterPolicy)
	case OpLESetAdvertisingData, OpLESetScanResponseData:
		d, err := parseAdvertisingData(c.Opcode(), prm)
		fail(err)
		m.set("bthci_cmd.le_data_length", d.Len)
		adFields(t, m, d.Bytes())
	case OpLESetAdvertisingEnable:
		s, err := ParseLESetAdvertisingEnable(prm)
		fail(err)
		m.set("bthci_cmd.le_advts_enable", b2i(s.Enable))
	case OpLESetScanParameters:
		s, err := ParseLESetScanParameters(prm)
		fail(err)
		m.set("bthci_cmd.le_scan_type", s.Type)
		m.set("bthci_cmd.le_scan_interval", s.Interval)
		m.set("bthci_cmd.le_scan_window", s.Window)
		m.set("bthci_cmd.le_own_address_type", uint8(s.OwnAddrType))
		m.set("bthci_cmd.le_scan_filter_policy", s.FilterPolicy)
	case OpLESetScanEnable:
		s, err := ParseLESetScanEnable(prm)
		fail(err)
		m.set("bthci_cmd.le_scan_enable", b2i(s.Enable))
		m.set("bthci_cmd.le_filter_duplicates", b2i(s.FilterDuplicates))
	case OpLECreateConnection:
		s, err := ParseLECreateConnection(prm)
		fail(err)
		m.set("bthci_cmd.le_scan_interval", s.ScanInterval)
		m.set("bthci_cmd.le_scan_window", s.ScanWindow)
		m.set("bthci_cmd.le_initiator_filter_policy", s.FilterPolicy)
		m.set("bthci_cmd.le_peer_address_type", uint8(s.PeerAddrType))
		m.set("bthci_cmd.bd_addr", s.PeerAddr)
		m.set("bthci_cmd.le_own_address_type", uint8(s.OwnAddrType))
		connParamFields(m, s.ConnParams)
	case OpLEConnectionUpdate:
		s, err := ParseLEConnectionUpdate(prm)
		fail(err)
		m.set("bthci_cmd.connection_handle", s.Handle)
		connParamFields(m, s.ConnParams)
	case OpLESetDataLength:
		s, err := ParseLESetDataLength(prm)
		fail(err)
		m.set("bthci_cmd.connection_handle", s.Handle)
		m.set("bthci_cmd.le_tx_octets", s.TxOctets)
		m.set("bthci_cmd.le_tx_time", s.TxTime)
	case OpLEWriteSuggestedDefaultDataLength:
		s, err := ParseLEWriteSuggestedDefaultDataLength(prm)
		fail(err)
		m.set("bthci_cmd.le_suggested_max_tx_octets", s.TxOctets)
		m.set("bthci_cmd.le_suggested_max_tx_time", s.TxTime)
	case OpLESetDefaultPHY:
		s, err := ParseLESetDefaultPHY(prm)
		fail(err)
		m.set("bthci_cmd.all_phys", s.AllPHYs)
		m.set("bthci_cmd.tx_phys", s.TxPHYs)
		m.set("bthci_cmd.rx_phys", s.RxPHYs)
	case OpLESetPHY:
		s, err := ParseLESetPHY(prm)
		fail(err)
		m.set("bthci_cmd.connection_handle", s.Handle)
		m.set("bthci_cmd.all_phys", s.AllPHYs)
		m.set("bthci_cmd.tx_phys", s.TxPHYs)
		m.set("bthci_cmd.rx_phys", s.RxPHYs)
		m.set("bthci_cmd.phy_options", s.Options)
	default:
		if len(prm) != 0 {
			t.Fatalf("command %v with parameters has no field mapping", c.Opcode())
		}
	}
}

func connParamFields(m fieldMap, c ConnParams) {
	m.set("bthci_cmd.le_con_interval_min", c.IntervalMin)
	m.set("bthci_cmd.le_con_interval_max", c.IntervalMax)
	m.set("bthci_cmd.le_con_latency", c.MaxLatency)
	m.set("bthci_cmd.le_supv_timeout", c.SupervisionTimeout)
	m.set("bthci_cmd.le_min_ce_length", c.MinCELength)
	m.set("bthci_cmd.le_max_ce_length", c.MaxCELength)
}

func eventFields(t *testing.T, m fieldMap, e Event, fail func(error)) {
	switch e.Code() {
	case EventDisconnectionComplete:
		d, err := ParseDisconnectionComplete(e)
		fail(err)
		m.set("bthci_evt.status", uint8(d.Status))
		m.set("bthci_evt.connection_handle", d.Handle)
		m.set("bthci_evt.reason", uint8(d.Reason))
	case EventCommandComplete:
		cc, err := ParseCommandComplete(e)
		fail(err)
		m.set("bthci_evt.num_command_packets", cc.NumHCICommandPackets)
		m.set("bthci_evt.opcode", uint16(cc.Opcode))
		if s, ok := cc.Status(); ok {
			m.set("bthci_evt.status", uint8(s))
		}
		if cc.Err() != nil {
			return // nothing but the status
		}
		returnFields(t, m, cc, fail)
	case EventCommandStatus:
		cs, err := ParseCommandStatus(e)
		fail(err)
		m.set("bthci_evt.status", uint8(cs.Status))
		m.set("bthci_evt.num_command_packets", cs.NumHCICommandPackets)
		m.set("bthci_evt.opcode", uint16(cs.Opcode))
	case EventHardwareError:
		h, err := ParseHardwareError(e)
		fail(err)
		m.set("bthci_evt.hardware_code", h.Code)
	case EventNumberOfCompletedPackets:
		n, err := ParseNumberOfCompletedPackets(e)
		fail(err)
		m.set("bthci_evt.num_handles", n.Len())
		for hc := range n.All() {
			m.set("bthci_evt.connection_handle", hc.Handle)
			m.set("bthci_evt.num_compl_packets", hc.Count)
		}
	case EventDataBufferOverflow:
		d, err := ParseDataBufferOverflow(e)
		fail(err)
		m.set("bthci_evt.link_type", d.LinkType)
	case EventLEMeta:
		sub, _ := e.Subevent()
		m.set("bthci_evt.le_meta_subevent", uint8(sub))
		leFields(t, m, e, sub, fail)
	default:
		t.Fatalf("event %v has no field mapping", e.Code())
	}
}

func returnFields(t *testing.T, m fieldMap, cc CommandComplete, fail func(error)) {
	rp := cc.ReturnParameters
	switch cc.Opcode {
	case OpNOP, OpReset:
	case OpReadBDAddr:
		r, err := ParseReadBDAddrReturn(rp)
		fail(err)
		m.set("bthci_evt.bd_addr", r.Addr)
	case OpReadLocalVersionInformation:
		r, err := ParseReadLocalVersionReturn(rp)
		fail(err)
		m.set("bthci_evt.hci_vers_nr", r.HCIVersion, r.HCISubversion) // tshark's shared abbreviation, see above
		m.set("bthci_evt.lmp_vers_nr", r.LMPVersion)
		m.set("bthci_evt.comp_id", r.CompanyID)
		m.set("bthci_evt.lmp_sub_vers_nr", r.LMPSubversion)
	case OpReadLocalSupportedCommands:
		r, err := ParseReadLocalSupportedCommandsReturn(rp)
		fail(err)
		m.set("bthci_evt.local_supported_cmds", hex.EncodeToString(r.Commands[:]))
	case OpReadLocalSupportedFeatures:
		r, err := ParseReadLocalSupportedFeaturesReturn(rp)
		fail(err)
		m.set("bthci_evt.lmp_features.le_supported_controller", b2i(r.Features.LESupported()))
		m.set("bthci_evt.lmp_features.br_edr_not_supported", b2i(r.Features.Has(LMPFeatureBREDRNotSupported)))
	case OpLEReadBufferSize:
		r, err := ParseLEReadBufferSizeReturn(rp)
		fail(err)
		m.set("bthci_evt.le_acl_data_pkt_len", r.ACLDataPacketLength)
		m.set("bthci_evt.le_total_num_acl_data_pkts", r.TotalNumACLDataPackets)
	case OpLEReadBufferSizeV2:
		r, err := ParseLEReadBufferSizeV2Return(rp)
		fail(err)
		m.set("bthci_evt.le_acl_data_pkt_len", r.ACLDataPacketLength)
		m.set("bthci_evt.le_total_num_acl_data_pkts", r.TotalNumACLDataPackets)
		m.set("bthci_evt.iso_data_pkt_len", r.ISODataPacketLength)
		m.set("bthci_evt.total_num_iso_data_pkts", r.TotalNumISODataPackets)
	case OpLEReadLocalSupportedFeatures:
		r, err := ParseLEReadLocalSupportedFeaturesReturn(rp)
		fail(err)
		m.set("bthci_evt.le_features", uint64(r.Features))
		m.set("bthci_evt.le_features.encryption", b2i(r.Features.Has(LEFeatureEncryption)))
		m.set("bthci_evt.le_features.data_packet_length_extension", b2i(r.Features.Has(LEFeatureDataPacketLengthExtension)))
		m.set("bthci_evt.le_features.ll_privacy", b2i(r.Features.Has(LEFeatureLLPrivacy)))
		m.set("bthci_evt.le_features.2m_phy", b2i(r.Features.Has(LEFeature2MPHY)))
		m.set("bthci_evt.le_features.coded_phy", b2i(r.Features.Has(LEFeatureCodedPHY)))
		m.set("bthci_evt.le_features.extended_advertising", b2i(r.Features.Has(LEFeatureExtendedAdvertising)))
	case OpLEReadMaximumDataLength:
		r, err := ParseLEReadMaximumDataLengthReturn(rp)
		fail(err)
		// tshark 4.0 reuses the Suggested_Max_* fields here (see above).
		m.set("bthci_evt.suggested_max_tx_octets", r.MaxTxOctets)
		m.set("bthci_evt.suggested_max_tx_time", r.MaxTxTime)
		m.set("bthci_evt.suggested_max_rx_octets", r.MaxRxOctets)
		m.set("bthci_evt.suggested_max_rx_time", r.MaxRxTime)
	case OpLEReadSuggestedDefaultDataLength:
		r, err := ParseLEReadSuggestedDefaultDataLengthReturn(rp)
		fail(err)
		m.set("bthci_evt.suggested_max_tx_octets", r.TxOctets)
		m.set("bthci_evt.suggested_max_tx_time", r.TxTime)
	case OpLESetDataLength:
		r, err := ParseLESetDataLengthReturn(rp)
		fail(err)
		m.set("bthci_evt.connection_handle", r.Handle)
	default:
		t.Fatalf("return parameters of %v have no field mapping", cc.Opcode)
	}
}

func leFields(t *testing.T, m fieldMap, e Event, sub LESubevent, fail func(error)) {
	switch sub {
	case LESubeventConnectionComplete:
		c, err := ParseLEConnectionComplete(e)
		fail(err)
		m.set("bthci_evt.status", uint8(c.Status))
		m.set("bthci_evt.connection_handle", c.Handle)
		m.set("bthci_evt.role", uint8(c.Role))
		m.set("bthci_evt.le_peer_address_type", uint8(c.PeerAddrType))
		m.set("bthci_evt.bd_addr", c.PeerAddr)
		m.set("bthci_evt.le_con_interval", c.Interval)
		m.set("bthci_evt.le_con_latency", c.PeripheralLatency)
		m.set("bthci_evt.le_supv_timeout", c.SupervisionTimeout)
		m.set("bthci_evt.le_master_clock_accuracy", c.CentralClockAccuracy)
	case LESubeventEnhancedConnectionComplete:
		c, err := ParseLEEnhancedConnectionComplete(e)
		fail(err)
		m.set("bthci_evt.status", uint8(c.Status))
		m.set("bthci_evt.connection_handle", c.Handle)
		m.set("bthci_evt.role", uint8(c.Role))
		m.set("bthci_evt.le_peer_address_type", uint8(c.PeerAddrType))
		m.set("bthci_evt.bd_addr", c.PeerAddr)
		m.set("bthci_evt.le_local_rpa", c.LocalRPA)
		m.set("bthci_evt.le_peer_rpa", c.PeerRPA)
		m.set("bthci_evt.le_con_interval", c.Interval)
		m.set("bthci_evt.le_con_latency", c.PeripheralLatency)
		m.set("bthci_evt.le_supv_timeout", c.SupervisionTimeout)
		m.set("bthci_evt.le_master_clock_accuracy", c.CentralClockAccuracy)
	case LESubeventAdvertisingReport:
		r, err := ParseLEAdvertisingReport(e)
		fail(err)
		m.set("bthci_evt.le_num_reports", r.Len())
		for rep := range r.All() {
			m.set("bthci_evt.le_advts_event_type", uint8(rep.EventType))
			m.set("bthci_evt.le_peer_address_type", uint8(rep.AddrType))
			m.set("bthci_evt.bd_addr", rep.Addr)
			m.set("bthci_evt.data_length", len(rep.Data))
			m.set("bthci_evt.rssi", rep.RSSI)
			adFields(t, m, rep.Data)
		}
	case LESubeventConnectionUpdateComplete:
		c, err := ParseLEConnectionUpdateComplete(e)
		fail(err)
		m.set("bthci_evt.status", uint8(c.Status))
		m.set("bthci_evt.connection_handle", c.Handle)
		m.set("bthci_evt.le_con_interval", c.Interval)
		m.set("bthci_evt.le_con_latency", c.PeripheralLatency)
		m.set("bthci_evt.le_supv_timeout", c.SupervisionTimeout)
	case LESubeventDataLengthChange:
		c, err := ParseLEDataLengthChange(e)
		fail(err)
		m.set("bthci_evt.connection_handle", c.Handle)
		m.set("bthci_evt.max_tx_octets", c.MaxTxOctets)
		m.set("bthci_evt.max_tx_time", c.MaxTxTime)
		m.set("bthci_evt.max_rx_octets", c.MaxRxOctets)
		m.set("bthci_evt.max_rx_time", c.MaxRxTime)
	case LESubeventPHYUpdateComplete:
		c, err := ParseLEPHYUpdateComplete(e)
		fail(err)
		m.set("bthci_evt.status", uint8(c.Status))
		m.set("bthci_evt.connection_handle", c.Handle)
		m.set("bthci_evt.le_tx_phy", uint8(c.TxPHY))
		m.set("bthci_evt.le_rx_phy", uint8(c.RxPHY))
	default:
		t.Fatalf("%v has no field mapping", sub)
	}
}

// sameValue compares one tshark value with ours: numerically when both
// are numbers (tshark prints some fields in hex), else as text ignoring
// case (addresses).
func sameValue(want, got string) bool {
	wp, gp := strings.Split(want, ","), strings.Split(got, ",")
	if len(wp) != len(gp) {
		return false
	}
	for i := range wp {
		w, g := wp[i], gp[i]
		if wn, err1 := strconv.ParseInt(w, 0, 64); err1 == nil {
			if gn, err2 := strconv.ParseInt(g, 0, 64); err2 == nil {
				if wn != gn {
					return false
				}
				continue
			}
		}
		if wn, err1 := strconv.ParseUint(w, 0, 64); err1 == nil {
			if gn, err2 := strconv.ParseUint(g, 0, 64); err2 == nil {
				if wn != gn {
					return false
				}
				continue
			}
		}
		if !strings.EqualFold(w, g) {
			return false
		}
	}
	return true
}

// TestTshark writes the corpus as a pcap, has tshark dissect it, and
// compares every field, frame by frame, with our parsers.
func TestTshark(t *testing.T) {
	oracle.Tshark(t)
	corpus := tsharkCorpus(t)
	records := make([][]byte, len(corpus))
	for i, p := range corpus {
		records[i] = AppendH4(binary.BigEndian.AppendUint32(nil, p.dir), p.typ, p.pkt)
	}
	capture := oracle.WritePcap(t, oracle.LinkTypeBluetoothH4PHDR, records...)

	reasm := map[uint32]*ACLReassembler{}
	want := make([]fieldMap, len(corpus))
	names := map[string]bool{}
	for i, p := range corpus {
		want[i] = ourFields(t, p, reasm)
		for k := range want[i] {
			names[k] = true
		}
	}
	fields := make([]string, 0, len(names))
	for k := range names {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	fields = append(fields, "_ws.expert.message")

	rows := capture.Fields(t, fields...)
	if len(rows) != len(corpus) {
		t.Fatalf("tshark shows %d frames, wrote %d", len(rows), len(corpus))
	}
	compared := 0
	for i, p := range corpus {
		row := rows[i]
		for j, fl := range fields {
			got := row[j]
			if fl == "_ws.expert.message" {
				if strings.Contains(got, "Malformed") != p.malformed {
					t.Errorf("frame %d (%s): tshark expert info %q", i+1, p.name, got)
				}
				continue
			}
			w := want[i][fl]
			if !sameValue(w, got) {
				t.Errorf("frame %d (%s): %s: tshark %q, ours %q", i+1, p.name, fl, got, w)
			}
			if w != "" {
				compared++
			}
		}
	}
	t.Logf("%d frames, %d fields compared with tshark", len(corpus), compared)
	if !slices.ContainsFunc(corpus, func(p tsharkPacket) bool { return p.typ == PacketACL }) {
		t.Fatal("no ACL packets in the corpus")
	}
}
