// Package ip6 is one IPv6 header view for every package of the border
// router: RFC 8200 §3's fixed header as a byte slice with accessors and
// setters that read and write the fields in place, after the style of
// gVisor's pkg/tcpip/header.IPv6. IsValid does the bounds and version
// checks once; the accessors then trust the slice. Named offsets replace
// the raw [8:24] and [24:40] slices that were spread over the code.
//
// Left out: extension header walking (lowpan and the forwarder do what
// they need) and IPv4.
package ip6
