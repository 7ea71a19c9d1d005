// Package ieee802154 encodes and decodes IEEE 802.15.4 MAC frame headers of
// frame versions 0 (802.15.4-2003), 1 (802.15.4-2006) and 2 (802.15.4-2015)
// for the beacon, data, acknowledgment and MAC command frame types.
//
// Decoding fills a caller-owned Frame in place and allocates nothing: its
// byte-slice fields are views into the PSDU. Encoding writes into a
// caller's buffer (Header.Encode) or appends a whole frame
// (AppendFrame), allocating only when the buffer lacks capacity. No input
// makes either panic; every error wraps one of the package's sentinel
// errors. Extended addresses are kept in canonical EUI-64 order and
// reversed only on the air.
//
// What it implements:
//
//   - Frame control field (2006 §7.2.1.1; 2015 §7.2.1), including sequence
//     number suppression and IE Present for 2015 frames. Reserved bits
//     are ignored on receipt and written as zero.
//   - Addressing fields and PAN ID compression: the 2003/2006 rule (2006
//     §7.2.1.1.5: with both addresses present the bit drops the source
//     PAN ID; otherwise it must be 0) and the 2015 table (2015 §7.2.1.5,
//     Table 7-2, keyed on both address modes and the bit). Encode picks
//     the most compact legal form; Header.ForcePANIDCompression reaches
//     the 2015 rows that drop PAN IDs altogether.
//   - The auxiliary security header (2006 §7.6.2; 2015 §9.4): security
//     level, key identifier mode, frame counter suppression and ASN in
//     nonce (2015), frame counter, key source and key index, and the MIC
//     length the level implies.
//   - Information elements (2015 §7.4): header IEs up to HT1/HT2, payload
//     IEs up to the payload termination IE when they are not encrypted,
//     with iterators and append helpers.
//   - The FCS (2006 §7.2.1.9; 2015 §7.2.10): CRC-16/KERMIT.
//
// What it leaves out:
//
//   - Security processing: no CCM* encryption, decryption or MIC check;
//     AppendFrame leaves zeroed room for the MIC. 802.15.4-2003 security,
//     which has no auxiliary security header, is rejected (ErrUnsupported).
//   - Generating acknowledgments, enhanced acks included, and every other
//     MAC behaviour (CSMA-CA, retries, association, TSCH).
//   - The contents of beacon payloads, MAC commands and individual IEs;
//     Frame.CommandID reads only the Command ID.
//   - Multipurpose, fragment/Frak and extended frame types, and frame
//     type 4 (reserved): rejected with ErrUnsupported.
//   - Frames longer than 127 octets on the radio path: Decode and
//     AppendFrame keep aMaxPhyPacketSize of the 2.4 GHz O-QPSK PHY.
//     DecodePHY reads frames of SUN PHYs (802.15.4g; 802.15.4-2020 §11.3:
//     up to 2047 octets) with a 2- or 4-octet FCS (FCS32, §7.2.10) for
//     captures; nothing here builds them.
package ieee802154
