package ieee802154

import (
	"encoding/hex"
	"errors"
	"testing"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestExtAddr(t *testing.T) {
	if got, want := extA.String(), "02:12:34:56:78:ab:cd:ef"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	for _, s := range []string{"02:12:34:56:78:ab:cd:ef", "0212345678abcdef", "02:12:34:56:78:AB:CD:EF"} {
		a, err := ParseExtAddr(s)
		if err != nil || a != extA {
			t.Errorf("ParseExtAddr(%q) = %v, %v; want %v", s, a, err, extA)
		}
	}
	for _, s := range []string{"", "02:12:34:56:78:ab:cd", "02-12-34-56-78-ab-cd-ef", "0212345678abcdeg",
		"02:12:34:56:78:ab:cd:eg", "0:12:34:56:78:ab:cd:eff", "02:12:34:56:78:ab:cd:ef:"} {
		if _, err := ParseExtAddr(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseExtAddr(%q): err = %v, want ErrInvalid", s, err)
		}
	}
}
