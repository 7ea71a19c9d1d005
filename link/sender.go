package link

import (
	"context"
	"time"
)

// transmitter is what a link's sender needs of the link: send what the
// queue holds, in the queue's order, until it is empty or ctx ends; each
// datagram finished (sent, failed, expired) goes back to the queue with
// its waiter told.
type transmitter interface {
	sendQueued(ctx context.Context)
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

	for {
		if q.pending() {
			if txCtx.Err() != nil {
				break // the drain time is up
			}
			tx.sendQueued(txCtx)
			continue
		}
		if ctx.Err() != nil {
			break // drained
		}
		select {
		case <-q.wake:
		case <-ctx.Done(): // send what is left, then stop
		}
	}
	var rest []*datagram
	q.stop(&rest)
	for _, d := range rest {
		tell(d, ErrStopped)
		q.recycle(d)
	}
}

// sendEach is the sender's loop for links whose transmission is one call
// per datagram (BLE): next takes each datagram in the queue's order.
func sendEach(ctx context.Context, q *txQueue, send func(ctx context.Context, d *datagram) error) {
	expired := make([]*datagram, 0, 8)
	for ctx.Err() == nil {
		d := q.nextFrame(&expired)
		for _, x := range expired {
			tell(x, ErrExpired)
			q.recycle(x)
		}
		expired = expired[:0]
		if d == nil {
			return
		}
		err := send(ctx, d)
		tell(d, err)
		q.finish(d)
	}
}

// queue queues the datagram encode made (or returns encode's error).
func queue(q *txQueue, d *datagram, err error) error {
	if err != nil {
		return err
	}
	return q.put(d, time.Now())
}

// queueAndWait queues the datagram encode made and waits for its outcome.
func queueAndWait(ctx context.Context, q *txQueue, d *datagram, err error) error {
	if err != nil {
		return err
	}
	d.waitFor()
	if err := q.put(d, time.Now()); err != nil {
		return err
	}
	return waitOutcome(ctx, q, d)
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
