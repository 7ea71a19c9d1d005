package lowpan

import (
	"net/netip"
	"testing"
)

// RFC 4944 §7: fe80:: + the EUI-64 with the U/L bit inverted; §6 for a
// short address; no IID, no address.
func TestLinkLocal(t *testing.T) {
	for _, c := range []struct {
		a    LinkAddr
		want string
	}{
		{ExtendedLinkAddr([8]byte{0x18, 0xb4, 0x30, 0, 0, 0, 0, 0x1d}), "fe80::1ab4:3000:0:1d"},
		{ExtendedLinkAddr([8]byte{0x02, 0, 0x5e, 0x10, 0, 0, 0, 1}), "fe80::5e10:0:1"},
		{ShortLinkAddr(0x0042), "fe80::ff:fe00:42"},
	} {
		if got, ok := c.a.LinkLocal(); !ok || got != netip.MustParseAddr(c.want) {
			t.Errorf("%v.LinkLocal() = %v, %v; want %s", c.a, got, ok, c.want)
		}
	}
	if _, ok := (LinkAddr{}).LinkLocal(); ok {
		t.Error("an empty link address has a link-local address")
	}
}
