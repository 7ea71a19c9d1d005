package nd

import (
	"bytes"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

func stateRouter(t *testing.T, path string, now time.Time, mod func(*Config)) *Router {
	t.Helper()
	c := testConfig()
	c.StatePath = path
	if mod != nil {
		mod(&c)
	}
	r, err := New(c, now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Path 1: no state file — start fresh, write one.
func TestStateMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nd-state.json")
	r := stateRouter(t, path, t0, nil)
	if r.LoadError() != nil || r.Registry().Len() != 0 {
		t.Fatalf("fresh router: %v, %d entries", r.LoadError(), r.Registry().Len())
	}
	if r.ABROVersion() != uint32(t0.Unix()/60) {
		t.Errorf("fresh ABRO version %d, want minutes since 1970 %d", r.ABROVersion(), t0.Unix()/60)
	}
	st, err := OpenState(path, t0)
	if err != nil || st == nil || st.ABROVersion != r.ABROVersion() {
		t.Fatalf("state after start: %+v, %v", st, err)
	}
	// The state file and its journal, no temporary files left behind.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 2 || ents[0].Name() != "nd-state.json" || ents[1].Name() != "nd-state.json.journal" {
		t.Errorf("directory holds %v", ents)
	}
}

// Path 2: a good state file — registry and ABRO version restored; the
// version increases when the advertised information changed meanwhile,
// and not otherwise.
func TestStateRestore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nd-state.json")
	r := stateRouter(t, path, t0, nil)
	v := r.ABROVersion()
	rovr128 := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	handle(t, r, nsEARO(t, node1LL, node1G, eui1[:], 10, 60, ll1), Incoming{Link: 1, LinkSrc: ll1})
	handle(t, r, nsEARO(t, node1LL, node1LL, eui1[:], 10, 60, ll1), Incoming{Link: 1, LinkSrc: ll1})
	handle(t, r, edar(t, sixLRA, mustAddr("2001:db8:1::77"), rovr128, 3, 30), Incoming{Link: 2})
	aro := mustAppend(t, mustAddr("2001:db8:1::99"), rtrLL, 255, NSFields{Target: rtrLL},
		AROFields{Lifetime: 5, ROVR: euiB[:]}, SourceLinkAddr{Addr: lowpan.ShortLinkAddr(0x99)})
	handle(t, r, aro, Incoming{Link: 1})
	// Registry changes go to the journal, not the state file.
	if err := r.Maintain(t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if st, _ := OpenState(path, t0); st == nil || len(st.Registrations) != 0 {
		t.Fatal("the state file was rewritten for registry changes")
	}
	if jr, err := readJournal(JournalPath(path), r.generation); err != nil || len(jr.records) != 4 || jr.stale {
		t.Fatalf("journal: %d records, stale %v, %v", len(jr.records), jr.stale, err)
	}
	if err := r.Maintain(t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want := r.Registry().Snapshot(t0.Add(time.Minute))
	if len(want) != 4 {
		t.Fatalf("%d registrations", len(want))
	}

	// Restart, same configuration: same version, same registry.
	r2 := stateRouter(t, path, t0.Add(time.Minute), nil)
	if r2.ABROVersion() != v {
		t.Errorf("version %d after a restart without change, want %d", r2.ABROVersion(), v)
	}
	got := r2.Registry().Snapshot(t0.Add(time.Minute))
	if len(got) != len(want) {
		t.Fatalf("restored %d registrations, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("registration %d:\n-want %+v\n+got  %+v", i, want[i], got[i])
		}
	}
	r2.Registry().cfg.Now = func() time.Time { return t0.Add(time.Minute) }
	if a, ok := r2.Registry().LatestRegistered(ll1, prefix1); !ok || a != node1G {
		t.Errorf("LatestRegistered after restore: %v", a)
	}
	// A refresh with the restored TID is fresh; an older one moved.
	if s := r2.Registry().Register(Request{Addr: node1G, Link: 1, ROVR: EUI64ROVR(eui1), TID: 9, HasTID: true, Lifetime: 60, LinkAddr: ll1}, t0.Add(time.Minute)).Status; s != StatusMoved {
		t.Errorf("stale TID after restore: %v", s)
	}

	// Restart later with another prefix: version + 1; expired entries
	// (the 5-minute ARO) are not restored.
	r3 := stateRouter(t, path, t0.Add(10*time.Minute), func(c *Config) {
		c.PrefixValidLifetime = 5 * time.Hour
	})
	if r3.ABROVersion() != v+1 {
		t.Errorf("version %d after a prefix lifetime change, want %d", r3.ABROVersion(), v+1)
	}
	if n := len(r3.Registry().Snapshot(t0.Add(10 * time.Minute))); n != 3 {
		t.Errorf("%d registrations restored at +10 min, want 3", n)
	}
	// And a context change: version + 1 again, the new context starting
	// its life cycle with C=0.
	r4 := stateRouter(t, path, t0.Add(11*time.Minute), func(c *Config) {
		c.PrefixValidLifetime = 5 * time.Hour
		c.Contexts = append(c.Contexts, ContextConfig{ID: 3, Prefix: netip.MustParsePrefix("2001:db8:3::/48")})
		c.ContextChangeDelay = 0
	})
	if r4.ABROVersion() != v+2 {
		t.Errorf("version %d after a context change, want %d", r4.ABROVersion(), v+2)
	}
	if cs := r4.Contexts(); len(cs) != 2 || !cs[0].Compress || cs[1].Compress || cs[1].ID != 3 {
		t.Errorf("contexts %+v", cs)
	}
}

// Path 3: a corrupt file — a clear error, the file moved aside, a fresh
// start that writes a good file.
func TestStateCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"garbage":        "\x00\x01not json",
		"truncated":      `{"format":1,"abro_version":5,"registrations":[{"addr":"2001:db8:1::1","ro`,
		"bad ROVR":       `{"format":1,"abro_version":5,"advertised":{"prefix":"","contexts":null},"registrations":[{"addr":"2001:db8:1::1","link":0,"rovr":"abc","lifetime_min":1,"registered":"2025-01-01T00:00:00Z","expires":"2025-01-01T00:01:00Z"}]}`,
		"unknown format": `{"format":99,"abro_version":5}`,
		"trailing data":  `{"format":1,"abro_version":5,"advertised":{"prefix":""}}{}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "nd-state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			r := stateRouter(t, path, t0, func(c *Config) {
				c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			})
			err := r.LoadError()
			var ce *CorruptStateError
			if !errors.Is(err, ErrCorruptState) || !errors.As(err, &ce) {
				t.Fatalf("LoadError = %v", err)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(logs.String(), "corrupt") {
				t.Errorf("error %q / log %q do not name the file", err, logs.String())
			}
			moved, rerr := os.ReadFile(ce.MovedTo)
			if rerr != nil || string(moved) != content || !strings.HasPrefix(filepath.Base(ce.MovedTo), "nd-state.json.corrupt-2025") {
				t.Errorf("moved aside to %s: %v", ce.MovedTo, rerr)
			}
			if r.Registry().Len() != 0 || r.ABROVersion() != uint32(t0.Unix()/60) {
				t.Errorf("not a fresh start: %d entries, version %d", r.Registry().Len(), r.ABROVersion())
			}
			if st, err := OpenState(path, t0); err != nil || st == nil {
				t.Errorf("the fresh state was not saved: %v", err)
			}
		})
	}
}

// An unreadable state file (here: a directory) is an error, not a reason
// to overwrite it.
func TestStateUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nd-state.json")
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	c := testConfig()
	c.StatePath = path
	if _, err := New(c, t0); err == nil || errors.Is(err, ErrCorruptState) {
		t.Errorf("New = %v, want a read error", err)
	}
}

func TestLinkAddrText(t *testing.T) {
	for _, a := range []lowpan.LinkAddr{{}, ll1, lowpan.ShortLinkAddr(0xbeef), lowpan.BLELinkAddr([6]byte{1, 2, 3, 4, 5, 6})} {
		got, err := parseLinkAddr(formatLinkAddr(a))
		if err != nil || got != a {
			t.Errorf("%v → %q → %v, %v", a, formatLinkAddr(a), got, err)
		}
	}
	for _, s := range []string{"ext:00", "short", "nfc:0102", "ble:zz"} {
		if _, err := parseLinkAddr(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
}
