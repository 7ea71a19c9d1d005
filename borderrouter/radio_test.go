package borderrouter

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/radio"
	"github.com/lowpanbr/lowpanbr/radio/transport"
)

// The radio of a border router without a radio URL, on its own: the
// simulated medium and RCP behind a PTY, driven over Spinel. No root
// needed.
func TestOpenRadioSimulator(t *testing.T) {
	if _, _, err := transport.OpenPTY(); err != nil {
		t.Skipf("no PTYs here: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := OpenRadio(ctx, "", radio.Settings{Channel: 20, PANID: 0xfffe, ShortAddr: 0xfffe}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id := r.Identity()
	if !r.Simulated || !strings.HasPrefix(r.URL, "spinel+hdlc+uart:///") || id.EUI64 != DefaultSimEUI64 || !strings.Contains(id.Firmware, "rcpsim") || !r.Ready() {
		t.Errorf("simulated radio: %+v, URL %q, identity %+v", r.Simulated, r.URL, id)
	}
	if _, err := r.EnergyScan(ctx, 11, 5*time.Millisecond); err != nil {
		t.Errorf("energy scan: %v", err)
	}
	r.Close()
	r.Close() // twice is fine

	if _, err := OpenRadio(ctx, "spinel+hdlc+usb:///dev/x", radio.Settings{Channel: 11}, nil); !errors.Is(err, transport.ErrBadURL) {
		t.Errorf("bad URL: %v", err)
	}
}
