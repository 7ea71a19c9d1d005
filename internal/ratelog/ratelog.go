package ratelog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultInterval = time.Minute
	DefaultMaxKeys  = 64
)

// Config configures a Limiter.
type Config[K comparable] struct {
	Logger *slog.Logger // nil: nothing is written
	Level  slog.Level   // of the summary lines
	// Interval is the shortest time between two summaries of a key, and
	// how long a key must stay quiet to be forgotten; default 1 min.
	Interval time.Duration
	// MaxKeys bounds the keys tracked at once; default 64.
	MaxKeys int
	// What names the events in a summary, as a plural noun phrase:
	// "registrations refused".
	What string
	// Describe says what a key is, after What: "from 02:…: neighbor
	// cache full". nil: the key printed with %v.
	Describe func(K) string
}

// window is one key's current interval.
type window struct {
	start time.Time
	n     uint64 // events suppressed since start
}

// Limiter decides which events of each key are logged. It is safe for
// concurrent use.
type Limiter[K comparable] struct {
	cfg Config[K]

	mu    sync.Mutex
	keys  map[K]*window
	other window // events of keys beyond MaxKeys
	// otherOn: other holds a window (its first event was logged).
	otherOn    bool
	suppressed uint64
}

// New returns a Limiter.
func New[K comparable](c Config[K]) *Limiter[K] {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.MaxKeys <= 0 {
		c.MaxKeys = DefaultMaxKeys
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Describe == nil {
		c.Describe = func(k K) string { return fmt.Sprintf("(%v)", k) }
	}
	return &Limiter[K]{cfg: c, keys: make(map[K]*window, c.MaxKeys)}
}

// summary is a summary line waiting to be written.
type summary struct {
	desc string
	n    uint64
	over time.Duration
}

// Allow counts an event of key k at now and reports whether the caller
// should log it in full: the first event of a key (or the first after a
// quiet interval). Otherwise the event is counted for the key's next
// summary, and Allow does not allocate. When k's interval is over, Allow
// writes its summary first.
func (l *Limiter[K]) Allow(k K, now time.Time) bool {
	l.mu.Lock()
	w := l.keys[k]
	if w == nil {
		if len(l.keys) < l.cfg.MaxKeys {
			l.keys[k] = &window{start: now}
			l.mu.Unlock()
			return true
		}
		return l.allowOther(now) // unlocks
	}
	if d := now.Sub(w.start); d >= l.cfg.Interval || d < 0 {
		// The interval is over (or the clock stepped back: start again).
		if w.n == 0 {
			// Quiet since its first event: a new first event.
			w.start = now
			l.mu.Unlock()
			return true
		}
		s := summary{n: w.n, over: max(d, 0)}
		*w = window{start: now, n: 1}
		l.suppressed++
		l.mu.Unlock()
		s.desc = l.cfg.Describe(k)
		l.write(s)
		return false
	}
	w.n++
	l.suppressed++
	l.mu.Unlock()
	return false
}

// allowOther is Allow for a key the table has no room for; l.mu is held
// and is released.
func (l *Limiter[K]) allowOther(now time.Time) bool {
	w := &l.other
	if !l.otherOn {
		l.otherOn = true
		*w = window{start: now}
		l.mu.Unlock()
		return true
	}
	if d := now.Sub(w.start); (d >= l.cfg.Interval || d < 0) && w.n > 0 {
		s := summary{desc: "from other sources", n: w.n, over: max(d, 0)}
		*w = window{start: now, n: 1}
		l.suppressed++
		l.mu.Unlock()
		l.write(s)
		return false
	}
	w.n++
	l.suppressed++
	l.mu.Unlock()
	return false
}

// Flush writes the summaries of the keys whose interval is over at now and
// forgets the keys that stayed quiet for a whole interval.
func (l *Limiter[K]) Flush(now time.Time) {
	var out []summary
	l.mu.Lock()
	for k, w := range l.keys {
		d := now.Sub(w.start)
		if d < l.cfg.Interval && d >= 0 {
			continue
		}
		if w.n == 0 {
			delete(l.keys, k)
			continue
		}
		out = append(out, summary{desc: l.cfg.Describe(k), n: w.n, over: max(d, 0)})
		*w = window{start: now}
	}
	if l.otherOn {
		w := &l.other
		if d := now.Sub(w.start); d >= l.cfg.Interval || d < 0 {
			if w.n > 0 {
				out = append(out, summary{desc: "from other sources", n: w.n, over: max(d, 0)})
				*w = window{start: now}
			} else {
				l.otherOn = false
			}
		}
	}
	l.mu.Unlock()
	for _, s := range out {
		l.write(s)
	}
}

// Suppressed returns how many events have been counted rather than logged
// in full, since New.
func (l *Limiter[K]) Suppressed() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.suppressed
}

func (l *Limiter[K]) write(s summary) {
	msg := fmt.Sprintf("%d %s %s, last %s", s.n, l.cfg.What, s.desc, s.over.Round(time.Second))
	l.cfg.Logger.LogAttrs(context.Background(), l.cfg.Level, msg,
		slog.Uint64("suppressed", s.n), slog.Duration("over", s.over))
}
