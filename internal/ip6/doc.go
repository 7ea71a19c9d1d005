// Package ip6 holds the packet header views shared by every package of the
// border router, after the style of gVisor's pkg/tcpip/header: a header is
// a byte slice with accessors and setters that read and write the fields in
// place, IsValid does the bounds checks once and the accessors then trust
// the slice, Encode writes a whole header from a Fields struct, and named
// offsets replace raw [8:24] and [24:40] slices.
//
//   - Header: RFC 8200 §3's fixed IPv6 header.
//   - UDP: RFC 768's header, with the IPv6 checksum of RFC 8200 §8.1
//     (a computed zero is sent as 0xffff; a carried zero is invalid).
//   - ICMPv6: RFC 4443 §2.1's header and 32-bit message body (MTU,
//     pointer, echo identifier and sequence), with the checksum of §2.3.
//     Neighbour Discovery messages and options are parsed by package nd.
//
// Left out: extension header walking (lowpan and the forwarder do what
// they need) and IPv4.
package ip6
