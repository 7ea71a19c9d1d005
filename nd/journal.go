package nd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
)

// The registry's changes between two state files go to a journal beside
// the state file, appended and fsynced together within SaveDelay, instead
// of rewriting the whole file. Measured here (BenchmarkSaveJournal,
// BenchmarkSaveFull; a virtual disk shared with other work): a change
// costs a line of about 210 octets and a write of one change with its
// fsync 0.2–0.8 ms, a hundred 0.9–2.4 ms, whatever the registry's size;
// rewriting the file costs 0.42 MB and 16–23 ms at 2 000 registrations,
// 2.1 MB and 50–60 ms at 10 000. Rewriting within a second of every change
// would write up to 2 MB a second (some 180 GB a day) to a border
// router's SD card while registrations keep changing; the journal writes
// what changed. When the journal outgrows the state file, the state file
// is written anew (a compaction) and a new journal started, so the two
// stay within twice the file's size.
//
// Layout: one record per line, "CRC32 JSON\n", the CRC (IEEE, eight hex
// digits) over the JSON. The first record is the header, naming the
// generation of the state file the journal continues. Each later record
// is a registration as it was when written ("put") or its removal
// ("del"); replaying them in order over the state file's registrations
// gives the registry as it was at the last write. A crash in the middle
// of an append leaves a torn last line, which the CRC finds: reading
// stops there. A crash in a compaction leaves a journal of the previous
// generation, whose changes the new state file holds already: it is
// ignored.

const journalFormat = 1

// JournalPath is the journal of the state file at statePath.
func JournalPath(statePath string) string { return statePath + ".journal" }

type journalHeader struct {
	Journal    int    `json:"journal"`
	Generation uint64 `json:"generation"`
}

type journalRecord struct {
	Put *StateRegistration `json:"put,omitempty"`
	Del *journalKey        `json:"del,omitempty"`
}

type journalKey struct {
	Addr netip.Addr `json:"addr"`
	Link LinkID     `json:"link,omitempty"`
}

// appendJournalLine appends v as a journal line.
func appendJournalLine(dst []byte, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	dst = fmt.Appendf(dst, "%08x ", crc32.ChecksumIEEE(data))
	dst = append(dst, data...)
	return append(dst, '\n'), nil
}

// parseJournalLine checks a line's CRC and decodes its JSON into v.
func parseJournalLine(line []byte, v any) error {
	crc, data, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(crc) != 8 {
		return errors.New("no CRC")
	}
	want, err := strconv.ParseUint(string(crc), 16, 32)
	if err != nil {
		return errors.New("no CRC")
	}
	if crc32.ChecksumIEEE(data) != uint32(want) {
		return errors.New("CRC mismatch")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// journalRead is what reading a journal found.
type journalRead struct {
	records []journalRecord
	// stale: the journal continues another state file (its changes are
	// in the state file already, or it belongs to none); not applied.
	stale bool
	// dropped counts lines after the last good record (a torn append, or
	// damage): reading stops at the first bad line.
	dropped int
}

// readJournal reads the journal at path, which must continue generation
// gen. A missing journal is an empty one.
func readJournal(path string, gen uint64) (journalRead, error) {
	var jr journalRead
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return jr, nil
	}
	if err != nil {
		return jr, fmt.Errorf("nd: reading journal: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	first := true
	for {
		line, err := br.ReadBytes('\n')
		if len(line) == 0 && err == io.EOF {
			return jr, nil
		}
		if err != nil && err != io.EOF {
			return jr, fmt.Errorf("nd: reading journal: %w", err)
		}
		if line[len(line)-1] != '\n' { // torn: the append never finished
			jr.dropped++
			return jr, nil
		}
		line = line[:len(line)-1]
		if first {
			first = false
			var h journalHeader
			if parseJournalLine(line, &h) != nil || h.Journal != journalFormat || h.Generation != gen {
				jr.stale = true
				return jr, nil
			}
			continue
		}
		var rec journalRecord
		if parseJournalLine(line, &rec) != nil || !rec.valid() {
			// Everything from here on is suspect: count it and stop.
			jr.dropped++
			for {
				if _, err := br.ReadBytes('\n'); err != nil {
					return jr, nil
				}
				jr.dropped++
			}
		}
		jr.records = append(jr.records, rec)
	}
}

func (rec *journalRecord) valid() bool {
	switch {
	case rec.Put != nil && rec.Del == nil:
		return rec.Put.check() == nil
	case rec.Del != nil && rec.Put == nil:
		return rec.Del.Addr.Is6() && rec.Del.Addr.Zone() == ""
	}
	return false
}

// replay applies the journal's records, in order, to the state file's
// registrations.
func (jr *journalRead) replay(regs []Registration) []Registration {
	at := make(map[regKey]int, len(regs))
	for i := range regs {
		at[keyOf(regs[i].Addr, regs[i].Link)] = i
	}
	removed := make([]bool, len(regs))
	for i := range jr.records {
		rec := &jr.records[i]
		if rec.Del != nil {
			if j, ok := at[keyOf(rec.Del.Addr, rec.Del.Link)]; ok {
				removed[j] = true
			}
			continue
		}
		g := rec.Put.registration()
		k := keyOf(g.Addr, g.Link)
		if j, ok := at[k]; ok {
			regs[j], removed[j] = g, false
			continue
		}
		at[k] = len(regs)
		regs = append(regs, g)
		removed = append(removed, false)
	}
	out := regs[:0]
	for i := range regs {
		if !removed[i] {
			out = append(out, regs[i])
		}
	}
	return out
}

// journal is the open journal file, appended to.
type journal struct {
	f       *os.File
	size    int64
	records int
}

// createJournal starts an empty journal for generation gen at path,
// atomically (written beside, fsynced, renamed over, directory fsynced),
// and opens it for appending.
func createJournal(path string, gen uint64) (*journal, error) {
	head, err := appendJournalLine(nil, journalHeader{Journal: journalFormat, Generation: gen})
	if err != nil {
		return nil, err
	}
	if err := writeAtomic(path, head); err != nil {
		return nil, fmt.Errorf("nd: starting journal: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("nd: opening journal: %w", err)
	}
	return &journal{f: f, size: int64(len(head))}, nil
}

// append writes lines (whole records) and fsyncs them.
func (j *journal) append(lines []byte, records int) error {
	n, err := j.f.Write(lines)
	j.size += int64(n)
	if err != nil {
		return fmt.Errorf("nd: writing journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("nd: writing journal: fsync: %w", err)
	}
	j.records += records
	return nil
}

func (j *journal) close() error { return j.f.Close() }

// removeStaleTemp removes the temporary files a crash in writeAtomic may
// have left beside path.
func removeStaleTemp(path string) {
	matches, _ := filepath.Glob(path + ".tmp-*")
	for _, m := range matches {
		os.Remove(m)
	}
}
