package medium

import "time"

// PHY and MAC timing of the 2.4 GHz O-QPSK PHY, the only PHY modelled.
// Every duration is a whole number of symbols; the medium's virtual clock
// works in these units, so results are exact, never rounded.
const (
	// SymbolDuration: 62.5 ksymbol/s (2006 §6.5.1 Table 1; 2015 §12.2).
	SymbolDuration = 16 * time.Microsecond
	// OctetDuration: 250 kbit/s, two 4-bit symbols per octet
	// (phySymbolsPerOctet = 2 for O-QPSK).
	OctetDuration = 2 * SymbolDuration

	// SHROctets is the synchronisation header: a 4-octet preamble and a
	// 1-octet SFD; PHROctets is the PHY header (the frame length). 2006
	// §6.3 Figure 16; 2015 §12.1.
	SHROctets = 4 + 1
	PHROctets = 1

	// UnitBackoffPeriod is aUnitBackoffPeriod, 20 symbols (2006 §7.4.1
	// Table 85; 2015 §8.4.2).
	UnitBackoffPeriod = 20 * SymbolDuration
	// CCADuration: a CCA lasts 8 symbol periods (2006 §6.9.9; 2015 §10.2.8).
	CCADuration = 8 * SymbolDuration
	// TurnaroundTime is aTurnaroundTime, 12 symbols: RX-to-TX after a
	// clear CCA, and the gap between a frame's end and its Imm-Ack
	// (2006 §6.4.1 Table 22 and §7.5.6.4.2; 2015 §11.3 Table 11-1).
	TurnaroundTime = 12 * SymbolDuration
	// AckWaitDuration is macAckWaitDuration for this PHY (2006 §7.4.2
	// Table 86; 2015 §8.4.3): aUnitBackoffPeriod + aTurnaroundTime +
	// phySHRDuration + ⌈6 · phySymbolsPerOctet⌉ = 20 + 12 + 10 + 12 = 54
	// symbols, counted from the end of the frame's last symbol. The six
	// octets are the PHR and a 5-octet Imm-Ack, so an Imm-Ack sent after
	// aTurnaroundTime ends 192 + 352 = 544 µs after the frame, well inside.
	AckWaitDuration = 54 * SymbolDuration

	// AckPSDULen is the length of an Imm-Ack PSDU: frame control (2),
	// sequence number (1), FCS (2). 2006 §7.2.2.3; 2015 §7.3.3.
	AckPSDULen = 5
)

// CSMA-CA and retransmission defaults: the MAC PIB defaults of 2006 §7.4.2
// Table 86 (2015 §8.4.3).
const (
	MinBE                  = 3 // macMinBE
	MaxBE                  = 5 // macMaxBE
	DefaultMaxCSMABackoffs = 4 // macMaxCSMABackoffs
	DefaultMaxFrameRetries = 3 // macMaxFrameRetries
)

// NoiseFloor is what EnergyScan reports on a quiet channel and the RSSI at
// which LQI reaches 0, in dBm. Typical 2.4 GHz receivers have a sensitivity
// near −100 dBm.
const NoiseFloor = -100

// lqiTopRSSI is the RSSI (dBm) at and above which LQI saturates at 255.
const lqiTopRSSI = -20

// AirTime returns how long a PPDU carrying a PSDU of psduLen octets (FCS
// included) occupies the channel: SHR + PHR + PSDU at 32 µs per octet.
// A 127-octet PSDU takes 133 × 32 = 4256 µs; a 5-octet Imm-Ack 352 µs.
func AirTime(psduLen int) time.Duration {
	return time.Duration(SHROctets+PHROctets+psduLen) * OctetDuration
}

// LQIFromRSSI maps a received signal strength to a link quality
// indication. The standard asks only that LQI be an integer 0–255 that
// grows with link quality, measured over at least 8 symbols (2006 §6.9.8;
// 2015 §10.2.6); the mapping is the implementer's. This medium uses a
// straight line: NoiseFloor (−100 dBm) and below give 0, −20 dBm and above
// give 255, and in between LQI = ⌊(RSSI + 100) · 255 / 80⌋; so −60 dBm
// gives 127 and −80 dBm gives 63.
func LQIFromRSSI(rssi int8) uint8 {
	switch {
	case int(rssi) <= NoiseFloor:
		return 0
	case int(rssi) >= lqiTopRSSI:
		return 255
	}
	return uint8((int(rssi) - NoiseFloor) * 255 / (lqiTopRSSI - NoiseFloor))
}
