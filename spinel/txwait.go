package spinel

import "time"

// How long a transmit-done can take, from the constants of the IEEE
// 802.15.4 O-QPSK PHY at 2.4 GHz and of OpenThread's RCP, which does
// CSMA-CA, acknowledgement waits and retransmissions itself
// (src/core/mac/sub_mac.cpp; its constants in sub_mac.hpp, radio.hpp and
// config/mac.h at the abtink/openthread snapshot 34bb0e4).
const (
	// airOctet is one octet on the air: 2 symbols of 16 µs (radio.hpp
	// kPhyUsPerByte = kSymbolsPerOctet × kSymbolTime; IEEE 802.15.4-2020
	// §12.3.3, 62.5 ksymbol/s).
	airOctet = 32 * time.Microsecond
	// phyOverhead is the synchronisation header (preamble 4 octets, SFD
	// 1; sub_mac.hpp kRadioHeaderShrDuration = 160 µs) and the PHY header
	// (1 octet) in front of every PSDU.
	phyOverhead = 6
	// unitBackoff is aUnitBackoffPeriod, 20 symbols (sub_mac.hpp
	// kUnitBackoffPeriod).
	unitBackoff = 20 * 16 * time.Microsecond
	// ccaTime is one clear channel assessment, 8 symbols (sub_mac.hpp
	// kCcaSampleInterval, 128 µs).
	ccaTime = 128 * time.Microsecond
	// turnaround is aTurnaroundTime, 12 symbols, from receiving (CCA) to
	// transmitting.
	turnaround = 12 * 16 * time.Microsecond
	// macMinBE and macMaxBE bound the CSMA-CA backoff exponent
	// (sub_mac.hpp kCsmaMinBe 3, kCsmaMaxBe 5; SubMac::StartCsmaBackoff
	// uses macMinBE + the backoffs so far, capped at macMaxBE).
	macMinBE, macMaxBE = 3, 5
	// ackTimeout is how long SubMac waits for an acknowledgement, timed
	// from the start of the transmission (sub_mac.hpp kAckTimeout, 16 ms;
	// SubMac::HandleTransmitStarted), when the radio does not time ACKs
	// itself.
	ackTimeout = 16 * time.Millisecond
	// retxMinBE and retxMaxBE bound the random delay SubMac adds before
	// a retransmission after a missing ACK (config/mac.h
	// OPENTHREAD_CONFIG_MAC_ADD_DELAY_ON_NO_ACK_ERROR_BEFORE_RETRY, on by
	// default, with OPENTHREAD_CONFIG_MAC_RETX_DELAY_MIN/MAX_BACKOFF_EXPONENT
	// 0 and 5; SubMac::HandleTransmitDone).
	retxMinBE, retxMaxBE = 0, 5
)

// TxAirTimeMax is the longest an OpenThread RCP can hold a transmission of
// req before it reports it: every attempt the request allows
// (MaxFrameRetries + 1, each after a missing ACK or a channel access
// failure: SubMac::HandleTransmitDone) with its longest CSMA-CA
// (MaxCSMABackoffs + 1 clear channel assessments after backoffs of up to
// 2^BE − 1 unit periods, BE from macMinBE up to macMaxBE:
// SubMac::StartCsmaBackoff, StartTimerForBackoff draws from [0, 2^BE)),
// the turnaround, the frame with its PHY overhead, the acknowledgement
// wait when the frame asks for one (frame control bit 5), and the delays
// before retransmissions. With the defaults this host sends (4 backoffs,
// 3 retries) a 127-octet frame that asks for an ACK gets 233 ms.
func TxAirTimeMax(req *TxRequest) time.Duration {
	attempt := turnaround + time.Duration(len(req.PSDU)+phyOverhead)*airOctet
	if len(req.PSDU) > 0 && req.PSDU[0]&0x20 != 0 {
		attempt += ackTimeout
	}
	// Each CCA is counted whether or not CSMA-CA is enabled: a bound,
	// not an estimate.
	for b := 0; b <= int(req.MaxCSMABackoffs); b++ {
		be := min(macMinBE+b, macMaxBE)
		attempt += time.Duration(1<<be-1)*unitBackoff + ccaTime
	}
	total := attempt * time.Duration(int(req.MaxFrameRetries)+1)
	for k := 1; k <= int(req.MaxFrameRetries); k++ {
		be := min(retxMinBE+k-1, retxMaxBE)
		total += time.Duration(1<<be-1) * unitBackoff
	}
	return total
}

// DefaultOctetTime is how long one octet takes on the serial line when the
// connection does not say: a UART at 115,200 bit/s with 10 bits per octet
// (start, 8 data, stop), the slowest rate RCPs are commonly run at, so
// that the wait is long enough on any of them.
const DefaultOctetTime = time.Second * 10 / 115200

// transmitMargin is added to every transmit-done wait: the RCP's own
// processing and the host's scheduling (a loaded host may take tens of
// milliseconds to run the reader).
const transmitMargin = 50 * time.Millisecond

// maxTxDoneValue bounds the value of a transmit-done: status, two bools,
// and an acknowledgement in the receive layout (a 127-octet enhanced ACK
// at most, and its metadata).
const maxTxDoneValue = 3 + 2 + MaxPSDU + 32

// TransmitWait is how long a host waits for the transmit-done of req
// before it takes the request or its answer as lost on the line: the
// longest the RCP can hold it (TxAirTimeMax), the time the request and
// the answer take on the serial line at octetTime per octet, each at its
// longest (every octet HDLC-escaped), and a margin. Waiting less would
// send the frame again while the RCP may still hold it, and OpenThread's
// RCP takes a second SET STREAM_RAW while one is under way (SubMac::Send
// accepts it in every state but energy scan and starts CSMA-CA over).
func TransmitWait(req *TxRequest, octetTime time.Duration) time.Duration {
	if octetTime <= 0 {
		octetTime = DefaultOctetTime
	}
	request := HDLCEncodedLen(8 + len(req.PSDU) + 16)
	answer := HDLCEncodedLen(4 + maxTxDoneValue)
	return TxAirTimeMax(req) + time.Duration(request+answer)*octetTime + transmitMargin
}
