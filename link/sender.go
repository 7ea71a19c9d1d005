package link

import (
	"context"
	"time"
)

// transmitter is what a link's sender needs of the link: put the next
// frame of d on the air (d.frame(d.next)). It returns done when d has no
// frame left to send, and an error when d failed (the rest of it is
// dropped).
type transmitter interface {
	transmitNext(ctx context.Context, d *datagram) (done bool, err error)
}

// defaultDrainTimeout bounds how long a link keeps sending after its Run's
// context ended: the packets already queued (a 13-frame datagram takes
// about 70 ms) get out, a queue behind a dead radio does not hold the
// shutdown.
const defaultDrainTimeout = 2 * time.Second

// runSender is a link's one sender goroutine (wireguard-go's
// RoutineSequentialSender is the model: one goroutine owns the air): it
// takes frames from q in its order and hands them to tx, until ctx ends
// and the queue is empty or drain has passed. Packets still queued then
// are dropped and their waiters told ErrStopped.
func runSender(ctx context.Context, q *txQueue, tx transmitter, drain time.Duration) {
	// Transmissions outlive ctx by the drain time: a datagram half sent
	// when the daemon stops is finished, not cut off.
	txCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(drain, cancel)
		context.AfterFunc(txCtx, func() { t.Stop() })
	})
	defer stopDrain()

	expired := make([]*datagram, 0, 8)
	for {
		d := q.nextFrame(time.Now(), &expired)
		for _, x := range expired {
			tell(x, ErrExpired)
			q.recycle(x)
		}
		expired = expired[:0]
		if d == nil {
			if ctx.Err() != nil {
				break // drained
			}
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				continue // send what is left, then stop
			}
		}
		if txCtx.Err() != nil {
			break // the drain time is up
		}
		done, err := tx.transmitNext(txCtx, d)
		if err != nil {
			tell(d, err)
			q.finish(d)
			continue
		}
		if done {
			if d.opts.Latency != nil && !d.opts.Since.IsZero() {
				d.opts.Latency.Observe(time.Since(d.opts.Since).Seconds())
			}
			tell(d, nil)
			q.finish(d)
		}
	}
	var rest []*datagram
	q.stop(&rest)
	for _, d := range rest {
		tell(d, ErrStopped)
		q.recycle(d)
	}
}

// waitOutcome waits for the outcome of a datagram queued by SendWait.
func waitOutcome(ctx context.Context, q *txQueue, d *datagram) error {
	select {
	case err := <-d.done:
		q.giveBack(d)
		return err
	case <-ctx.Done():
		q.giveBack(d) // the sender gives it back too; the last one frees it
		return ctx.Err()
	}
}
