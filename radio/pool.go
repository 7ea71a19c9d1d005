package radio

import (
	"sync"
	"sync/atomic"
)

// RxPool is a bounded pool of receive buffers that a radio driver lends
// with the frames it delivers (see Frame.Release). The driver takes a
// buffer for each received frame with Lend; the consumer gives it back
// with Frame.Release. The pool keeps at most its size in free buffers;
// buffers released beyond that, and buffers never released, are left to
// the garbage collector.
//
// Lend and Release are safe for concurrent use.
type RxPool struct {
	mu   sync.Mutex
	free []*rxBuffer // LIFO: the buffer released last is the warmest in cache
	size int
	made atomic.Uint64
}

// rxBuffer is one receive buffer. gen counts its lendings: a Frame holds
// the generation it was lent under, so a stale copy's Release (after the
// buffer was released and lent again) does nothing.
type rxBuffer struct {
	pool *RxPool
	gen  atomic.Uint32
	b    [MaxPSDU]byte
}

// NewRxPool makes a pool holding size buffers (at least 1), all made now.
func NewRxPool(size int) *RxPool {
	size = max(size, 1)
	p := &RxPool{free: make([]*rxBuffer, 0, size), size: size}
	for range size {
		p.free = append(p.free, &rxBuffer{pool: p})
	}
	return p
}

// Lend copies psdu (at most MaxPSDU octets; longer is cut) into a free
// buffer and returns a Frame lending it; the caller fills in the metadata.
// When no buffer is free, it makes a new one if grow is set (counted in
// Made: a consumer holds the pool's buffers, or never releases them), and
// otherwise reports false: the caller drops the frame.
func (p *RxPool) Lend(psdu []byte, grow bool) (Frame, bool) {
	p.mu.Lock()
	var b *rxBuffer
	if n := len(p.free); n > 0 {
		b = p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
	}
	p.mu.Unlock()
	if b == nil {
		if !grow {
			return Frame{}, false
		}
		p.made.Add(1)
		b = &rxBuffer{pool: p}
	}
	n := copy(b.b[:], psdu)
	return Frame{PSDU: b.b[:n:n], buf: b, gen: b.gen.Load()}, true
}

func (p *RxPool) put(b *rxBuffer) {
	p.mu.Lock()
	if len(p.free) < p.size {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// Free is the number of buffers ready to lend.
func (p *RxPool) Free() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}

// Made counts the buffers made beyond the pool's size because none was
// free when a frame arrived.
func (p *RxPool) Made() uint64 { return p.made.Load() }
