package lowpan

import (
	"fmt"

	"github.com/lowpanbr/lowpanbr/internal/ip6"
)

// Encoding describes how a datagram's headers were compressed: the IPHC
// fields of its outer header and the LOWPAN_NHC identifiers that followed.
// It is for troubleshooting tools (lowpanbr pcap --json), not the packet
// path.
type Encoding struct {
	Dispatch           string // "IPHC" or "IPv6" (uncompressed)
	TF, HLIM           uint8
	NH                 bool
	CID, SAC, M, DAC   bool
	SAM, DAM           uint8
	SCI, DCI           uint8
	NHC                [maxExtHeaders + maxIPv6Nest + 1]uint8 // identifiers in order
	NumNHC             int
	LoRH               int // RFC 8138 6LoRHs after a page 1 dispatch
	CompressedOctets   int // octets of compressed headers
	UncompressedOctets int // octets of IPv6 headers they stand for
}

func (e *Encoding) setIPHC(b0, b1 uint8) {
	e.Dispatch = "IPHC"
	e.TF = (b0 & iphcTFMask) >> iphcTFShift
	e.NH = b0&iphcNH != 0
	e.HLIM = b0 & iphcHLIMMask
	e.CID = b1&iphcCID != 0
	e.SAC = b1&iphcSAC != 0
	e.SAM = (b1 & iphcSAMMask) >> iphcSAMShift
	e.M = b1&iphcM != 0
	e.DAC = b1&iphcDAC != 0
	e.DAM = b1 & iphcDAMMask
}

// NHCNames names the NHC headers, e.g. "UDP(ports=11,checksum=inline)".
func (e *Encoding) NHCNames() []string {
	names := make([]string, 0, e.NumNHC)
	for _, id := range e.NHC[:e.NumNHC] {
		switch {
		case id&nhcUDPMask == nhcUDP:
			sum := "inline"
			if id&nhcUDPChecksum != 0 {
				sum = "elided"
			}
			names = append(names, fmt.Sprintf("UDP(ports=%02b,checksum=%s)", id&nhcUDPPortsMask, sum))
		case id&nhcExtMask == nhcExt:
			eid := (id & nhcExtEIDMask) >> nhcExtEIDShift
			name := [8]string{"HopByHop", "Routing", "Fragment", "DestOpts", "Mobility", "EID5", "EID6", "IPv6"}[eid]
			if eid != eidIPv6 {
				name += fmt.Sprintf("(nh=%t)", id&nhcExtNH != 0)
			}
			names = append(names, name)
		default:
			names = append(names, fmt.Sprintf("0x%02x", id))
		}
	}
	return names
}

// Inspect decompresses the headers of datagram (starting at its IPHC or
// IPv6 dispatch; a whole datagram or a FRAG1's content) and says how they
// were encoded.
func Inspect(datagram []byte, srcLL, dstLL LinkAddr, contexts *ContextTable) (Encoding, error) {
	var e Encoding
	if len(datagram) > 0 && datagram[0] == DispatchIPv6 {
		e.Dispatch = "IPv6"
		e.CompressedOctets, e.UncompressedOctets = 1+ip6.HeaderLen, ip6.HeaderLen
		return e, nil
	}
	var scratch [reassemblySlot]byte
	w, r, _, err := decompressHeaders(scratch[:], datagram, srcLL, dstLL, decodeParams{contexts: contexts, trace: &e})
	e.CompressedOctets, e.UncompressedOctets = r, w
	return e, err
}
