package le

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/ble/hci"
)

type recorder struct {
	mu       sync.Mutex
	reports  int
	conns    []*Conn
	discs    []hci.Status
	received []byte
	llids    []uint8
	acked    int
	dataLen  int
}

func (r *recorder) AdvertisingReport(hci.BDAddr, hci.AddrType, bool, []byte, int8) {
	r.mu.Lock()
	r.reports++
	r.mu.Unlock()
}
func (r *recorder) Connected(c *Conn) { r.mu.Lock(); r.conns = append(r.conns, c); r.mu.Unlock() }
func (r *recorder) Disconnected(c *Conn, s hci.Status) {
	r.mu.Lock()
	r.discs = append(r.discs, s)
	r.mu.Unlock()
}
func (r *recorder) Received(c *Conn, llid uint8, p []byte) {
	r.mu.Lock()
	r.received = append(r.received, p...)
	r.llids = append(r.llids, llid)
	r.mu.Unlock()
}
func (r *recorder) Acknowledged(c *Conn, n int)      { r.mu.Lock(); r.acked += n; r.mu.Unlock() }
func (r *recorder) DataLengthChanged(c *Conn, n int) { r.mu.Lock(); r.dataLen = n; r.mu.Unlock() }
func (r *recorder) PHYChanged(*Conn, PHY)            {}

func (r *recorder) wait(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		done := ok()
		r.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Advertising, connecting, data both ways cut to the data length and
// acknowledged per Send, a data length change, and a severed link timing
// out on both sides.
func TestConnectionLifecycle(t *testing.T) {
	w := New(Config{Seed: 1, TimeScale: 0.2, AdvInterval: 20 * time.Millisecond})
	defer w.Close()
	var rc, rp recorder
	central, _ := w.Attach(hci.BDAddr{1, 0, 0, 0, 0, 0xc0}, hci.AddrType(1), &rc)
	periph, _ := w.Attach(hci.BDAddr{2, 0, 0, 0, 0, 0xc0}, hci.AddrType(1), &rp)
	periph.SetAdvertising(true, true, []byte{0x03, 0x03, 0x20, 0x18})
	central.SetScanning(true)
	rc.wait(t, "an advertising report", func() bool { return rc.reports > 0 })
	if err := central.Connect(periph.Addr, ConnParams{Interval: 10 * time.Millisecond, SupervisionTimeout: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	rc.wait(t, "the central's connection", func() bool { return len(rc.conns) == 1 })
	rp.wait(t, "the peripheral's connection", func() bool { return len(rp.conns) == 1 })
	c, p := rc.conns[0], rp.conns[0]
	if !c.Central() || p.Central() {
		t.Fatal("roles swapped")
	}
	msg := bytes.Repeat([]byte("0123456789"), 10) // 100 octets: 4 PDUs of 27
	if err := c.Send(LLIDStart, msg); err != nil {
		t.Fatal(err)
	}
	rp.wait(t, "the data", func() bool { return len(rp.received) == len(msg) })
	rc.wait(t, "the acknowledgement", func() bool { return rc.acked == 1 })
	if !bytes.Equal(rp.received, msg) || len(rp.llids) != 4 || rp.llids[0] != LLIDStart || rp.llids[1] != LLIDContinue {
		t.Fatalf("received %d octets in PDUs with LLIDs %v", len(rp.received), rp.llids)
	}
	p.SetDataLength(251)
	rc.wait(t, "the data length change", func() bool { return rc.dataLen == 251 })
	rp.mu.Lock()
	rp.received, rp.llids = nil, nil
	rp.mu.Unlock()
	c.Send(LLIDStart, msg)
	rp.wait(t, "the data in one PDU", func() bool { return len(rp.received) == len(msg) })
	if len(rp.llids) != 1 {
		t.Fatalf("%d PDUs at data length 251", len(rp.llids))
	}
	c.Sever()
	rc.wait(t, "the central's supervision timeout", func() bool { return len(rc.discs) == 1 })
	rp.wait(t, "the peripheral's supervision timeout", func() bool { return len(rp.discs) == 1 })
	if rc.discs[0] != hci.StatusConnectionTimeout || rp.discs[0] != hci.StatusConnectionTimeout {
		t.Fatalf("disconnect reasons %v / %v", rc.discs[0], rp.discs[0])
	}
	if err := c.Send(LLIDStart, msg); err == nil {
		t.Fatal("sent on a dropped connection")
	}
}

// Air time per PDU (Vol 6 Part B §2.1): 1M PHY 8 µs per octet with a
// one-octet preamble, 2M 4 µs per octet with two.
func TestAirTime(t *testing.T) {
	for _, c := range []struct {
		phy  PHY
		n    int
		want time.Duration
	}{{PHY1M, 0, 80 * time.Microsecond}, {PHY1M, 27, 296 * time.Microsecond}, {PHY1M, 251, 2088 * time.Microsecond}, {PHY2M, 251, 1048 * time.Microsecond}} {
		if got := AirTime(c.phy, c.n); got != c.want {
			t.Errorf("AirTime(%d, %d) = %v, want %v", c.phy, c.n, got, c.want)
		}
	}
}
