package borderrouter

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/lowpanbr/lowpanbr/internal/textdist"

	"github.com/spf13/viper"
)

// The configuration comes from four layers, each overriding the one
// before: the defaults, the YAML file, environment variables
// LOWPANBR_<SECTION>_<KEY> and overrides (the command line's flags). viper
// merges the layers; every value, whichever layer it comes from, is then
// decoded by its key's value and the whole Config checked by Validate, so
// that the file, the environment and the flags accept the same text and
// give the same errors.

// Loader reads a Config from its layers. Load may be called again (on
// SIGHUP) to read the file and the environment anew, with the same
// overrides on top.
type Loader struct {
	// Path is the configuration file; "" for none.
	Path string
	// Required: Path must exist (it was named on the command line); a
	// missing file is otherwise no file.
	Required bool
	// LookupEnv reads the environment; nil: os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// Environ lists the environment (KEY=VALUE), for the check that no
	// LOWPANBR_ variable is a misspelt key's (misspeltEnv). nil: os.Environ
	// when LookupEnv is nil too; with a LookupEnv of its own and no
	// Environ the caller's environment is not listed and not checked.
	Environ func() []string
	// Overrides set keys on top of the environment, in order.
	Overrides []Override

	read string
}

// Override sets a key, as a command-line flag does.
type Override struct {
	Key    string   // a Key's Name
	Source string   // what set it, for errors: "--channel"
	Values []string // a list's items; the last one counts for other kinds
}

// Read is the file the last Load read: Path, or "" if there was no file.
func (l *Loader) Read() string { return l.read }

// Load reads the layers and returns the validated configuration, with
// what Config leaves implicit filled in (context 0 is the mesh prefix if
// no context is given; a grid's node count). A bad file, key or value
// gives a *ConfigError with every FieldError, each naming its Source; a
// file that cannot be read, a plain error.
func (l *Loader) Load() (Config, error) {
	lookupEnv, environ := l.LookupEnv, l.Environ
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
		if environ == nil {
			environ = os.Environ
		}
	}
	v := viper.New()
	v.SetConfigType("yaml")
	fileOrigin := ""
	l.read = ""
	if l.Path != "" {
		data, err := os.ReadFile(l.Path)
		switch {
		case err == nil:
			l.read, fileOrigin = l.Path, "config "+l.Path
			if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
				var pe viper.ConfigParseError
				if errors.As(err, &pe) {
					err = pe.Unwrap() // yaml: line N: …
				}
				return Config{}, &ConfigError{Errors: []*FieldError{{Source: fileOrigin, Err: err}}}
			}
		case errors.Is(err, fs.ErrNotExist) && !l.Required:
		default:
			return Config{}, fmt.Errorf("config: %w", err)
		}
	}
	errs := unknownKeys(v)
	for _, e := range errs {
		e.Source = fileOrigin
	}

	def := Defaults()
	origin := map[string]string{}
	for i := range keyTable {
		k := &keyTable[i]
		v.SetDefault(k.Name, k.v.text(&def))
		if fileOrigin != "" && v.InConfig(k.Name) {
			origin[k.Name] = fileOrigin
		}
	}
	// The environment and then the overrides: viper's Set layer, in that
	// order. A variable that is a slip of a key's is an error, as an
	// unknown key of the file is.
	if environ != nil {
		errs = append(errs, misspeltEnv(environ())...)
	}
	for i := range keyTable {
		k := &keyTable[i]
		if val, ok := lookupEnv(k.Env()); ok {
			v.Set(k.Name, val)
			origin[k.Name] = "$" + k.Env()
		}
	}
	for _, o := range l.Overrides {
		k := keyNamed(o.Key)
		switch {
		case k == nil:
			errs = append(errs, &FieldError{Key: o.Key, Source: o.Source, Err: ErrUnknownKey, Suggestion: nearestKey(o.Key)})
			continue
		case len(o.Values) == 0:
			continue
		case k.v.kind() == KindList:
			v.Set(k.Name, slices.Clone(o.Values))
		default:
			v.Set(k.Name, o.Values[len(o.Values)-1])
		}
		origin[k.Name] = o.Source
	}

	cfg := Defaults()
	for i := range keyTable {
		k := &keyTable[i]
		val := v.Get(k.Name)
		if val == nil { // under a section the file gave as a scalar
			val = k.v.text(&def)
		}
		for _, e := range k.v.set(&cfg, val) {
			e.Key = k.Name
			errs = append(errs, e)
		}
	}
	errs = append(errs, cfg.validate()...)
	for _, e := range errs {
		if e.Source == "" {
			e.Source = cmp.Or(origin[e.Key], origin[e.also])
		}
	}
	if len(errs) > 0 {
		return Config{}, &ConfigError{Errors: errs}
	}
	return cfg.resolved(), nil
}

// unknownKeys returns an error for every key of the file that is not one
// of the key table's.
func unknownKeys(v *viper.Viper) []*FieldError {
	sections := map[string]bool{}
	for i := range keyTable {
		if s := keyTable[i].Section(); s != "" {
			sections[s] = true
		}
	}
	var errs []*FieldError
	reported := map[string]bool{}
	keys := v.AllKeys()
	slices.Sort(keys)
	for _, name := range keys {
		if keyNamed(name) != nil {
			continue
		}
		sec, rest, nested := strings.Cut(name, ".")
		switch {
		case !nested && sections[name]:
			if val := v.Get(name); val != nil {
				errs = append(errs, &FieldError{Key: name, Value: fmt.Sprint(val), Reason: fmt.Sprintf("want a section of %s.* keys", name)})
			}
			continue
		case nested && sections[sec]:
			first, _, _ := strings.Cut(rest, ".")
			name = sec + "." + first
		case nested:
			name = sec
		}
		if reported[name] {
			continue
		}
		reported[name] = true
		if keyNamed(name) != nil {
			continue // a section where a value belongs: the key's value says what it wants
		}
		errs = append(errs, &FieldError{Key: name, Err: ErrUnknownKey, Suggestion: nearestKey(name)})
	}
	return errs
}

// nearestKey is the known key within two edits of name, if there is one.
func nearestKey(name string) string {
	best, bestDist := "", 3
	for i := range keyTable {
		if d := textdist.Distance(name, keyTable[i].Name); d < bestDist {
			best, bestDist = keyTable[i].Name, d
		}
	}
	return best
}

const exampleHeader = `# lowpanbr configuration: every key with its default value.
#
# 'lowpanbr run' reads ` + DefaultConfigPath + ` (or the file of
# --config). An environment variable LOWPANBR_<SECTION>_<KEY> overrides a
# key of the file (LOWPANBR_RADIO_CHANNEL=20, LOWPANBR_STATE_DIR=/srv/lbr;
# lists separated by commas), and run's flags override both. Durations are
# written as 90s, 30m or 24h. Unknown keys are errors; check a file with
# 'lowpanbr config check --config FILE'.
`

// WriteExample writes a configuration file of every key at its default,
// each after a comment saying what it is and allows.
func WriteExample(w io.Writer) error {
	def := Defaults()
	var b strings.Builder
	b.WriteString(exampleHeader)
	section := "-"
	for i := range keyTable {
		k := &keyTable[i]
		sec, name, indent := k.Section(), k.Name, ""
		if sec != section {
			b.WriteString("\n")
			if sec != "" {
				fmt.Fprintf(&b, "%s:\n", sec)
			}
			section = sec
		}
		if sec != "" {
			name, indent = strings.TrimPrefix(k.Name, sec+"."), "  "
		}
		fmt.Fprintf(&b, "%s# %s\n%s%s: %s\n", indent, k.Doc, indent, name, yamlValue(k.v.kind(), k.v.text(&def)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// yamlValue writes a key's text as a YAML value: strings quoted, lists as
// flow sequences of strings, numbers, booleans and durations as they are.
func yamlValue(kind Kind, v any) string {
	switch kind {
	case KindString:
		return strconv.Quote(v.(string))
	case KindList:
		var items []string
		for _, s := range v.([]string) {
			items = append(items, strconv.Quote(s))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	return v.(string)
}

// NewLogger builds a logger from the log section, writing to w. The level
// is a LevelVar, so that Reload can change it (pass both to WithLogger).
// Every line has each key once (uniqueKeys) and durations as text.
func NewLogger(w io.Writer, c LogConfig) (*slog.Logger, *slog.LevelVar) {
	level := new(slog.LevelVar)
	level.Set(c.Level)
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: durationText}
	if c.Format == "json" {
		return slog.New(newUniqueKeys(slog.NewJSONHandler(w, opts))), level
	}
	return slog.New(newUniqueKeys(slog.NewTextHandler(w, opts))), level
}
