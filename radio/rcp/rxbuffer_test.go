package rcp

import (
	"testing"
	"time"
	"unsafe"

	"github.com/lowpanbr/lowpanbr/radio"
)

// By default the driver holds DefaultRxBuffer received frames for a
// consumer that is not reading (a GC pause, a busy CPU) and loses none of
// a burst that size; the frame after them is dropped and counted. The
// frames are the consumer's once it reads them.
func TestDefaultRxBuffer(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a few hundred frames through a PTY")
	}
	psdu := dataFrame(t, 3, 1, false)
	d, q, master := cannedDriver(t, psdu, nil)
	if cap(d.rx) != DefaultRxBuffer || d.pool.Free() != DefaultRxBuffer+rxPoolSpare {
		t.Fatalf("channel %d, pool %d: want %d and %d", cap(d.rx), d.pool.Free(), DefaultRxBuffer, DefaultRxBuffer+rxPoolSpare)
	}
	const n = DefaultRxBuffer + 1
	for range n {
		if _, err := master.Write(q.rx); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every frame handled", 10*time.Second, func() bool { s := d.Stats(); return s.RxFrames+s.RxDropped == n })
	if s := d.Stats(); s.RxFrames != DefaultRxBuffer || s.RxDropped != 1 || s.RxBuffersMade != 0 {
		t.Fatalf("stats %+v: want %d delivered, 1 dropped, no buffer made", s, DefaultRxBuffer)
	}
	for range DefaultRxBuffer {
		f := <-d.Receive()
		f.Release()
	}
	// A radio.Frame is what each slot of the channel holds (64 octets in
	// DefaultRxBuffer's costing).
	if sz := unsafe.Sizeof(radio.Frame{}); sz > 64 {
		t.Errorf("a radio.Frame takes %d octets, more than DefaultRxBuffer's comment counts", sz)
	}
}
