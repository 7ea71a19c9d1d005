package borderrouter

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lowpanbr/lowpanbr/internal/textdist"
)

// ErrUnknownEnv is wrapped by the FieldError of an environment variable
// that looks like a misspelt setting (LOWPANBR_RADIO_CHANEL): like a
// misspelt key of the file, it must not silently leave the key at its
// default.
var ErrUnknownEnv = errors.New("not a lowpanbr setting")

// OtherEnv are the LOWPANBR_* variables the program reads that are not
// keys' variables: the status commands' API socket.
var OtherEnv = []string{"LOWPANBR_API_SOCKET"}

// envSlip is how far (edit distance of the part after LOWPANBR_,
// ignoring case) a variable may be from a key's variable to count as a
// slip of it. Two edits catch a dropped, doubled, swapped or wrong letter
// or two; the opt-in variables of the tests (LOWPANBR_OT_RCP,
// LOWPANBR_RIOT_SRH, LOWPANBR_FAULT_LONG, …) are all further than that
// from every key's variable (TestEnvOptInsAreNotSlips), so they pass.
const envSlip = 2

// misspeltEnv returns an error for every variable of environ (KEY=VALUE
// strings, as os.Environ gives) that begins with LOWPANBR_ (in any case),
// is neither a key's variable nor one of OtherEnv, and is within envSlip
// edits of a key's variable. A LOWPANBR_ variable far from every key's is
// left alone: the program does not own the whole prefix (the tests' opt-in
// variables share it). Errors are in the order of the names.
func misspeltEnv(environ []string) []*FieldError {
	known := map[string]bool{}
	for _, n := range OtherEnv {
		known[n] = true
	}
	for i := range keyTable {
		known[keyTable[i].Env()] = true
	}
	var names []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if len(name) < len(EnvPrefix) || !strings.EqualFold(name[:len(EnvPrefix)], EnvPrefix) || known[name] {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var errs []*FieldError
	for _, name := range names {
		near := nearestEnv(name)
		if near == "" {
			continue
		}
		errs = append(errs, &FieldError{
			Source:     "$" + name,
			Reason:     fmt.Sprintf("%v; did you mean %s?", ErrUnknownEnv, near),
			Suggestion: near,
			Err:        ErrUnknownEnv,
		})
	}
	return errs
}

// nearestEnv is the key's variable within envSlip edits of name (after
// the prefix, ignoring case), the first of the closest in key order; ""
// if there is none.
func nearestEnv(name string) string {
	tail := strings.ToUpper(name[len(EnvPrefix):])
	best, bestDist := "", envSlip+1
	for i := range keyTable {
		env := keyTable[i].Env()
		if d := textdist.Distance(tail, env[len(EnvPrefix):]); d < bestDist {
			best, bestDist = env, d
		}
	}
	return best
}
