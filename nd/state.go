package nd

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lowpanbr/lowpanbr/lowpan"
)

// stateFormat is the version of the state file's layout: 2 added the
// generation (which journal continues it) and the registrations'
// neighbour, protection and tentative state. Format 1 is still read.
const stateFormat = 2

// State is what the router keeps across restarts: the ABRO version (RFC
// 6775 §7: "in stable storage"), what it advertised (so a change made
// while it was down still increases the version, and a context life cycle
// resumes where it was) and the registry. It is stored as JSON.
type State struct {
	Format int       `json:"format"`
	Saved  time.Time `json:"saved"`
	// Generation numbers the state file; the journal of the changes made
	// after it carries the same number (an older journal's changes are in
	// the file already).
	Generation    uint64              `json:"generation,omitempty"`
	ABROVersion   uint32              `json:"abro_version"`
	Advertised    StateAdvertised     `json:"advertised"`
	Registrations []StateRegistration `json:"registrations"`
}

// StateAdvertised is the advertised prefix and contexts in the state file.
type StateAdvertised struct {
	Prefix            netip.Prefix        `json:"prefix"`
	ValidLifetime     uint32              `json:"valid_lifetime_s"`
	PreferredLifetime uint32              `json:"preferred_lifetime_s"`
	ContextLifetime   uint16              `json:"context_lifetime_min"`
	Contexts          []AdvertisedContext `json:"contexts"`
}

// StateRegistration is one registration in the state file.
type StateRegistration struct {
	Addr       netip.Addr `json:"addr"`
	Link       LinkID     `json:"link"`
	ROVR       string     `json:"rovr"`
	TID        *uint8     `json:"tid,omitempty"`
	Lifetime   uint16     `json:"lifetime_min"`
	Registered time.Time  `json:"registered"`
	Expires    time.Time  `json:"expires"`
	LinkAddr   string     `json:"link_addr,omitempty"`
	Via        netip.Addr `json:"via,omitzero"`
	Neighbor   string     `json:"neighbor,omitempty"`
	Protected  bool       `json:"protected,omitempty"`
	Tentative  bool       `json:"tentative,omitempty"`
}

func newState(version uint32, adv *advertised, regs []Registration, now time.Time) *State {
	st := &State{
		Format:      stateFormat,
		Saved:       now.UTC(),
		ABROVersion: version,
		Advertised: StateAdvertised{
			Prefix:            adv.Prefix,
			ValidLifetime:     adv.ValidLifetime,
			PreferredLifetime: adv.PreferredLifetime,
			ContextLifetime:   adv.ContextLifetime,
		},
		Registrations: make([]StateRegistration, len(regs)),
	}
	for _, c := range adv.Contexts {
		if c != nil {
			st.Advertised.Contexts = append(st.Advertised.Contexts, *c)
		}
	}
	for i := range regs {
		st.Registrations[i] = stateRegistration(&regs[i])
	}
	return st
}

func stateRegistration(g *Registration) StateRegistration {
	s := StateRegistration{
		Addr: g.Addr, Link: g.Link, ROVR: g.ROVR.String(), Lifetime: g.Lifetime,
		Registered: g.Registered.UTC(), Expires: g.Expires.UTC(),
		LinkAddr: formatLinkAddr(g.LinkAddr), Via: g.Via,
		Protected: g.Protected, Tentative: g.Tentative,
	}
	if g.Neighbor != g.LinkAddr {
		s.Neighbor = formatLinkAddr(g.Neighbor)
	}
	if g.HasTID {
		tid := g.TID
		s.TID = &tid
	}
	return s
}

func (st *State) advertised() advertised {
	a := advertised{
		Prefix:            st.Advertised.Prefix,
		ValidLifetime:     st.Advertised.ValidLifetime,
		PreferredLifetime: st.Advertised.PreferredLifetime,
		ContextLifetime:   st.Advertised.ContextLifetime,
	}
	for _, c := range st.Advertised.Contexts {
		a.Contexts[c.ID] = &c
	}
	return a
}

// registrations converts the saved registrations (validated by
// decodeState).
func (st *State) registrations() []Registration {
	out := make([]Registration, 0, len(st.Registrations))
	for i := range st.Registrations {
		out = append(out, st.Registrations[i].registration())
	}
	return out
}

// registration converts a saved registration (validated by checkSaved).
func (s *StateRegistration) registration() Registration {
	b, _ := hex.DecodeString(s.ROVR)
	rovr, _ := MakeROVR(b)
	ll, _ := parseLinkAddr(s.LinkAddr)
	g := Registration{Addr: s.Addr, Link: s.Link, ROVR: rovr, Lifetime: s.Lifetime,
		Registered: s.Registered, Expires: s.Expires, LinkAddr: ll, Via: s.Via, Neighbor: ll,
		Protected: s.Protected, Tentative: s.Tentative}
	if s.Neighbor != "" {
		g.Neighbor, _ = parseLinkAddr(s.Neighbor)
	}
	if s.TID != nil {
		g.TID, g.HasTID = *s.TID, true
	}
	return g
}

// check validates a saved registration's syntax.
func (s *StateRegistration) check() error {
	if !s.Addr.Is6() || s.Addr.Zone() != "" {
		return fmt.Errorf("address %v is not IPv6", s.Addr)
	}
	b, err := hex.DecodeString(s.ROVR)
	if _, ok := MakeROVR(b); err != nil || !ok {
		return fmt.Errorf("%v: bad ROVR %q", s.Addr, s.ROVR)
	}
	if _, err := parseLinkAddr(s.LinkAddr); err != nil {
		return fmt.Errorf("%v: %w", s.Addr, err)
	}
	if _, err := parseLinkAddr(s.Neighbor); err != nil {
		return fmt.Errorf("%v: neighbor: %w", s.Addr, err)
	}
	if s.Via.IsValid() && (!s.Via.Is6() || s.Via.Zone() != "") {
		return fmt.Errorf("%v: 6LR %v is not IPv6", s.Addr, s.Via)
	}
	return nil
}

// formatLinkAddr writes a link-layer address as kind:hex ("ext:…",
// "short:…", "ble:…"); none is "".
func formatLinkAddr(a lowpan.LinkAddr) string {
	switch a.Kind() {
	case lowpan.LinkAddrExtended:
		e := a.Extended()
		return "ext:" + hex.EncodeToString(e[:])
	case lowpan.LinkAddrShort:
		return fmt.Sprintf("short:%04x", a.Short())
	case lowpan.LinkAddrBLE:
		b := a.BLE()
		return "ble:" + hex.EncodeToString(b[:])
	}
	return ""
}

func parseLinkAddr(s string) (lowpan.LinkAddr, error) {
	if s == "" {
		return lowpan.LinkAddr{}, nil
	}
	kind, h, ok := strings.Cut(s, ":")
	b, err := hex.DecodeString(h)
	if !ok || err != nil {
		return lowpan.LinkAddr{}, fmt.Errorf("link-layer address %q: not kind:hex", s)
	}
	switch {
	case kind == "ext" && len(b) == 8:
		return lowpan.ExtendedLinkAddr([8]byte(b)), nil
	case kind == "short" && len(b) == 2:
		return lowpan.ShortLinkAddr(uint16(b[0])<<8 | uint16(b[1])), nil
	case kind == "ble" && len(b) == 6:
		return lowpan.BLELinkAddr([6]byte(b)), nil
	}
	return lowpan.LinkAddr{}, fmt.Errorf("link-layer address %q: unknown kind or length", s)
}

// decodeState parses and checks a state file's contents.
func decodeState(data []byte) (*State, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	if st.Format != stateFormat && st.Format != 1 {
		return nil, fmt.Errorf("format %d, want 1 or %d", st.Format, stateFormat)
	}
	if st.ABROVersion == 0 {
		return nil, errors.New("ABRO version 0")
	}
	if p := st.Advertised.Prefix; p.IsValid() && !p.Addr().Is6() {
		return nil, fmt.Errorf("advertised prefix %v is not IPv6", p)
	}
	var seen [16]bool
	for _, c := range st.Advertised.Contexts {
		if c.ID > 15 || seen[c.ID] || !c.Prefix.IsValid() || !c.Prefix.Addr().Is6() {
			return nil, fmt.Errorf("advertised context %d (%v): bad or repeated", c.ID, c.Prefix)
		}
		seen[c.ID] = true
	}
	for i := range st.Registrations {
		if err := st.Registrations[i].check(); err != nil {
			return nil, fmt.Errorf("registration %d: %w", i, err)
		}
	}
	return &st, nil
}

// CorruptStateError reports a state file that could not be understood and
// was moved aside. It matches ErrCorruptState with errors.Is.
type CorruptStateError struct {
	Path    string
	MovedTo string
	Err     error
}

func (e *CorruptStateError) Error() string {
	return fmt.Sprintf("nd: state file %s is corrupt (%v); moved aside to %s", e.Path, e.Err, e.MovedTo)
}

// Unwrap returns ErrCorruptState and the cause.
func (e *CorruptStateError) Unwrap() []error { return []error{ErrCorruptState, e.Err} }

// OpenState reads the state file at path. A missing file gives (nil, nil):
// start fresh. A file that cannot be understood is renamed to
// path.corrupt-<UTC time of now> and gives (nil, *CorruptStateError): start
// fresh and report it. A file that cannot be read at all gives another
// error: the caller should not overwrite what it could not read.
func OpenState(path string, now time.Time) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nd: reading state file: %w", err)
	}
	st, perr := decodeState(data)
	if perr == nil {
		return st, nil
	}
	moved := path + ".corrupt-" + now.UTC().Format("20060102T150405.000Z")
	if err := os.Rename(path, moved); err != nil {
		return nil, fmt.Errorf("nd: state file %s is corrupt (%v) and cannot be moved aside: %w", path, perr, err)
	}
	return nil, &CorruptStateError{Path: path, MovedTo: moved, Err: perr}
}

// SaveState writes st to path atomically: a temporary file in the same
// directory, written and fsynced, renamed over path, and the directory
// fsynced, so that a crash leaves either the old file or the new one.
func SaveState(path string, st *State) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("nd: encoding state: %w", err)
	}
	data = append(data, '\n')
	return writeAtomic(path, data)
}

// writeAtomic replaces the file at path by data: a temporary file in the
// same directory, written and fsynced, renamed over path, and the
// directory fsynced.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("nd: saving state: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("nd: saving state: %w", err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("nd: saving state: fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("nd: saving state: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("nd: saving state: %w", err)
	}
	d, derr := os.Open(dir)
	if derr != nil {
		return fmt.Errorf("nd: saving state: syncing directory: %w", derr)
	}
	defer d.Close()
	if derr := d.Sync(); derr != nil {
		return fmt.Errorf("nd: saving state: syncing directory: %w", derr)
	}
	return nil
}
