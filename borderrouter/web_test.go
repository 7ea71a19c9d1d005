package borderrouter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lowpanbr/lowpanbr/sim"
	"github.com/lowpanbr/lowpanbr/web"
)

// The event ring keeps records at Info and above, whatever the wrapped
// handler's level, with the attributes of the record, of With and of
// WithGroup flattened as the text handler writes them; the wrapped
// handler still gets what its level lets through, unchanged.
func TestEventLogFlattens(t *testing.T) {
	var out bytes.Buffer
	e := newEventLog()
	log := slog.New(e.wrap(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})))
	log.Debug("not kept", "x", 1)
	log.Info("rcp reset", "resets", 2, "why", "spinel: reset reason power-on")
	c := log.With("component", "nd")
	c.Warn("registration refused", "addr", "2001:db8::5", "status", slog.StringValue("duplicate"))
	g := c.WithGroup("req").With("tid", 7).WithGroup("")
	g.Error("failed", "err", errors.New("boom"), slog.Group("lifetime", "min", 10), slog.Group("", "inline", true), slog.Attr{})
	log.WithGroup("a").WithGroup("b").Info("deep", "k", "v=w")

	type ev struct{ Level, Msg, Attrs string }
	var got []ev
	for _, x := range e.events() {
		got = append(got, ev{x.Level, x.Message, x.Attrs})
		if x.Time.IsZero() {
			t.Errorf("%q: no time", x.Message)
		}
	}
	want := []ev{
		{"INFO", "rcp reset", `resets=2 why="spinel: reset reason power-on"`},
		{"WARN", "registration refused", "component=nd addr=2001:db8::5 status=duplicate"},
		{"ERROR", "failed", "component=nd req.tid=7 req.err=boom req.lifetime.min=10 req.inline=true"},
		{"INFO", "deep", `a.b.k="v=w"`},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// The wrapped handler: Warn and above only, with its own formatting.
	text := out.String()
	if strings.Contains(text, "rcp reset") || strings.Contains(text, "not kept") || !strings.Contains(text, "req.tid=7") ||
		strings.Count(text, "\n") != 2 {
		t.Errorf("wrapped handler got:\n%s", text)
	}
}

// The ring keeps the last eventLogSize records, oldest first, and takes
// them from many goroutines at once (go test -race).
func TestEventLogRing(t *testing.T) {
	e := newEventLog()
	log := slog.New(e.wrap(slog.DiscardHandler))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("g", g)
			for i := range 100 {
				l.Info("m", "i", i)
				if i%10 == 0 {
					e.events()
				}
			}
		}()
	}
	wg.Wait()
	if n := len(e.events()); n != eventLogSize {
		t.Fatalf("%d events, want %d", n, eventLogSize)
	}
	log.Warn("rcp reset")
	for i := range 250 {
		log.Info(fmt.Sprint(i))
	}
	evs := e.events()
	// The warning outlives the flood of information, in time order.
	if len(evs) != eventLogSize+1 || evs[0].Message != "rcp reset" || evs[1].Message != "150" || evs[len(evs)-1].Message != "249" {
		t.Errorf("rings: %d events, %q, %q .. %q; want %d, the warning, 150 .. 249", len(evs), evs[0].Message, evs[1].Message, evs[len(evs)-1].Message, eventLogSize+1)
	}
	for i := range 2 * eventLogSize {
		log.Error(fmt.Sprint("e", i))
	}
	if evs = e.events(); len(evs) != 2*eventLogSize || evs[len(evs)-1].Message != fmt.Sprint("e", 2*eventLogSize-1) {
		t.Errorf("full rings: %d events, last %q", len(evs), evs[len(evs)-1].Message)
	}
}

// A record costs the ring one allocation (its attributes' string) when
// they fit the stack buffer.
func TestEventLogAllocs(t *testing.T) {
	e := newEventLog()
	h := e.wrap(slog.DiscardHandler).WithAttrs([]slog.Attr{slog.String("component", "rcp")})
	r := slog.NewRecord(time.Now(), slog.LevelWarn, "rcp reset", 0)
	r.AddAttrs(slog.Int("resets", 3), slog.String("reason", "power-on"))
	allocs := testing.AllocsPerRun(100, func() { h.Handle(context.Background(), r) })
	if allocs > 1 {
		t.Errorf("%v allocations per record, want at most 1", allocs)
	}
}

func TestPageStatus(t *testing.T) {
	for in, want := range map[string][2]string{
		"registered": {"registered", ""}, "success": {"registered", ""}, "pending": {"pending", ""}, "": {"pending", ""},
		"stopped": {"stopped", ""}, "deregistered": {"deregistered", ""}, "refused": {"refused", ""},
		"duplicate": {"refused", "duplicate"}, "neighbor cache full": {"refused", "neighbor cache full"},
	} {
		s, r := pageStatus(in)
		if [2]string{s, r} != want {
			t.Errorf("pageStatus(%q) = %q, %q; want %q", in, s, r, want)
		}
	}
}

// The simulator's and the RCP's errors map to the page's kinds (its HTTP
// statuses).
func TestWebErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
	}{
		{ErrNoSimulation, web.ErrUnsupported},
		{fmt.Errorf("x: %w", ErrNoSimulatedRCP), web.ErrUnsupported},
		{fmt.Errorf("%w: n9", ErrNoSuchNode), web.ErrBadAction},
		{sim.ErrMeshFull, web.ErrConflict},
		{fmt.Errorf("n1 n9: %w", sim.ErrNotInRange), web.ErrBadAction},
		{sim.ErrBadLoss, web.ErrBadAction},
		{sim.ErrBorderRouter, web.ErrBadAction},
	} {
		if got := webErr(tc.err); !errors.Is(got, tc.want) || !errors.Is(got, tc.err) {
			t.Errorf("webErr(%v) = %v, want %v wrapping it", tc.err, got, tc.want)
		}
	}
	if webErr(nil) != nil {
		t.Error("webErr(nil) != nil")
	}
}
