package borderrouter

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The kinds of value a key holds. Each reads its field from what a layer
// of the configuration gives (text from the environment and the flags,
// YAML scalars and sequences from the file) and writes it back as text;
// its check is a typed validator of the field as it stands in a Config,
// so that a Config built in code is held to the same rules as a file.
//
// set only decodes (and, for integers, checks the range the field's type
// must hold); check says whether the decoded value is allowed. Load runs
// set for every key and then Validate, which runs every check.

// value is how a key's field is read, written and checked.
type value interface {
	kind() Kind
	// text is the field's value as text: a string, or []string for a
	// list (the environment's form and the example's).
	text(c *Config) any
	// set decodes raw into c's field.
	set(c *Config, raw any) []*FieldError
	// check validates c's field.
	check(c *Config) []*FieldError
}

// reason is a FieldError with only its reason, for a check to return; the
// value fills in the key and the value.
func reason(format string, args ...any) *FieldError {
	return &FieldError{Reason: fmt.Sprintf(format, args...)}
}

// fill completes a check's error with the value as written.
func fill(e *FieldError, shown string) []*FieldError {
	if e == nil {
		return nil
	}
	if e.Value == "" && (e.Reason != "" || e.Err == nil) {
		e.Value = shown
	}
	return []*FieldError{e}
}

// integer is a field holding a whole number.
type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

// intValue is an integer from lo to hi. want describes the range ("" when
// the field's type is the only limit); a value outside it is refused by
// set, before it is narrowed to the field's type, and by check.
type intValue[T integer] struct {
	at     func(*Config) *T
	lo, hi int64
	want   string
	// Optional: parse reads text (default: decimal); syntax is the reason
	// given for text it cannot read (default "want an integer WANT");
	// show writes a value in an error and format in the example (default:
	// decimal).
	parse  func(string) (int64, bool)
	syntax string
	show   func(int64) string
	format func(int64) string
	// extra checks what the range does not, with the whole Config at hand.
	extra func(c *Config, v int64) *FieldError
}

func (v intValue[T]) kind() Kind { return KindInt }

func (v intValue[T]) text(c *Config) any {
	n := int64(*v.at(c))
	if v.format != nil {
		return v.format(n)
	}
	return strconv.FormatInt(n, 10)
}

func (v intValue[T]) showValue(n int64) string {
	if v.show != nil {
		return v.show(n)
	}
	return strconv.FormatInt(n, 10)
}

func (v intValue[T]) inRange(n int64) *FieldError {
	if n < v.lo || n > v.hi {
		return reason("want %s", v.want)
	}
	return nil
}

func (v intValue[T]) set(c *Config, raw any) []*FieldError {
	syntax := v.syntax
	if syntax == "" {
		syntax = strings.TrimSpace("want an integer " + v.want)
	}
	var n int64
	switch x := raw.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case string:
		var ok bool
		if v.parse != nil {
			n, ok = v.parse(strings.TrimSpace(x))
		} else {
			var err error
			n, err = strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			ok = err == nil
		}
		if !ok {
			return []*FieldError{{Value: strconv.Quote(x), Reason: syntax}}
		}
	default:
		return []*FieldError{{Value: fmt.Sprint(raw), Reason: syntax}}
	}
	if e := v.inRange(n); e != nil {
		return fill(e, v.showValue(n))
	}
	*v.at(c) = T(n)
	return nil
}

func (v intValue[T]) check(c *Config) []*FieldError {
	n := int64(*v.at(c))
	e := v.inRange(n)
	if e == nil && v.extra != nil {
		e = v.extra(c, n)
	}
	return fill(e, v.showValue(n))
}

// uint64Value is a whole number 0..2⁶⁴−1 (a seed).
type uint64Value struct{ at func(*Config) *uint64 }

func (v uint64Value) kind() Kind                  { return KindInt }
func (v uint64Value) text(c *Config) any          { return strconv.FormatUint(*v.at(c), 10) }
func (v uint64Value) check(*Config) []*FieldError { return nil }

func (v uint64Value) set(c *Config, raw any) []*FieldError {
	const want = "want an integer 0..18446744073709551615"
	switch x := raw.(type) {
	case int:
		if x >= 0 {
			*v.at(c) = uint64(x)
			return nil
		}
	case uint64:
		*v.at(c) = x
		return nil
	case string:
		n, err := strconv.ParseUint(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return []*FieldError{{Value: strconv.Quote(x), Reason: want}}
		}
		*v.at(c) = n
		return nil
	}
	return []*FieldError{{Value: fmt.Sprint(raw), Reason: want}}
}

// floatValue is a number.
type floatValue struct {
	at    func(*Config) *float64
	valid func(c *Config, f float64) *FieldError // nil: any number
}

func (v floatValue) kind() Kind         { return KindFloat }
func (v floatValue) text(c *Config) any { return fmtFloat(*v.at(c)) }

func (v floatValue) set(c *Config, raw any) []*FieldError {
	switch x := raw.(type) {
	case float64:
		*v.at(c) = x
		return nil
	case int:
		*v.at(c) = float64(x)
		return nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return []*FieldError{{Value: strconv.Quote(x), Reason: "want a number"}}
		}
		*v.at(c) = f
		return nil
	}
	return []*FieldError{{Value: fmt.Sprint(raw), Reason: "want a number"}}
}

func (v floatValue) check(c *Config) []*FieldError {
	if v.valid == nil {
		return nil
	}
	f := *v.at(c)
	return fill(v.valid(c, f), fmtFloat(f))
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// boolValue is true or false.
type boolValue struct {
	at    func(*Config) *bool
	valid func(c *Config, b bool) *FieldError // nil: either
}

func (v boolValue) kind() Kind         { return KindBool }
func (v boolValue) text(c *Config) any { return strconv.FormatBool(*v.at(c)) }

func (v boolValue) check(c *Config) []*FieldError {
	if v.valid == nil {
		return nil
	}
	b := *v.at(c)
	return fill(v.valid(c, b), strconv.FormatBool(b))
}

func (v boolValue) set(c *Config, raw any) []*FieldError {
	switch x := raw.(type) {
	case bool:
		*v.at(c) = x
		return nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return []*FieldError{{Value: strconv.Quote(x), Reason: "want true or false"}}
		}
		*v.at(c) = b
		return nil
	}
	return []*FieldError{{Value: fmt.Sprint(raw), Reason: "want true or false"}}
}

// durationValue is a duration written with its unit (90s, 30m, 24h).
type durationValue struct {
	at    func(*Config) *time.Duration
	valid func(c *Config, d time.Duration) *FieldError // nil: any duration
}

func (v durationValue) kind() Kind         { return KindDuration }
func (v durationValue) text(c *Config) any { return fmtDuration(*v.at(c)) }

func (v durationValue) set(c *Config, raw any) []*FieldError {
	switch x := raw.(type) {
	case int:
		if x == 0 {
			*v.at(c) = 0
			return nil
		}
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return []*FieldError{{Value: strconv.Quote(x), Reason: "want a duration such as 90s, 30m or 24h"}}
		}
		*v.at(c) = d
		return nil
	}
	return []*FieldError{{Value: fmt.Sprint(raw), Reason: "want a duration with a unit, such as 90s, 30m or 24h"}}
}

func (v durationValue) check(c *Config) []*FieldError {
	if v.valid == nil {
		return nil
	}
	d := *v.at(c)
	return fill(v.valid(c, d), fmtDuration(d))
}

// stringValue is text.
type stringValue struct {
	at    func(*Config) *string
	valid func(c *Config, s string) *FieldError // nil: any text
}

func (v stringValue) kind() Kind         { return KindString }
func (v stringValue) text(c *Config) any { return *v.at(c) }

func (v stringValue) set(c *Config, raw any) []*FieldError {
	s, e := asString(raw)
	if e != nil {
		return []*FieldError{e}
	}
	*v.at(c) = s
	return nil
}

func (v stringValue) check(c *Config) []*FieldError {
	if v.valid == nil {
		return nil
	}
	s := *v.at(c)
	return fill(v.valid(c, s), strconv.Quote(s))
}

// enumValue is one of a few names, matched without regard to case.
type enumValue[T comparable] struct {
	at     func(*Config) *T
	values []T
	names  []string // of values, in the same order
	// empty: "" is allowed and read as the zero T.
	empty bool
	// valid, when set, checks a known value against the rest of Config.
	valid func(c *Config, x T) *FieldError
}

func (v enumValue[T]) kind() Kind { return KindString }

func (v enumValue[T]) want() string {
	return "want " + strings.Join(v.names[:len(v.names)-1], ", ") + " or " + v.names[len(v.names)-1]
}

func (v enumValue[T]) name(x T) (string, bool) {
	for i, y := range v.values {
		if x == y {
			return v.names[i], true
		}
	}
	var zero T
	return "", v.empty && x == zero
}

func (v enumValue[T]) text(c *Config) any {
	s, _ := v.name(*v.at(c))
	return s
}

func (v enumValue[T]) set(c *Config, raw any) []*FieldError {
	s, e := asString(raw)
	if e != nil {
		return []*FieldError{e}
	}
	if s == "" && v.empty {
		var zero T
		*v.at(c) = zero
		return nil
	}
	for i, n := range v.names {
		if strings.EqualFold(s, n) {
			*v.at(c) = v.values[i]
			return nil
		}
	}
	return []*FieldError{{Value: strconv.Quote(s), Reason: v.want()}}
}

func (v enumValue[T]) check(c *Config) []*FieldError {
	x := *v.at(c)
	if name, ok := v.name(x); ok {
		if v.valid != nil {
			return fill(v.valid(c, x), name)
		}
		return nil
	}
	return []*FieldError{{Value: strconv.Quote(fmt.Sprint(x)), Reason: v.want()}}
}

// listValue is a list: a YAML sequence of strings, or text with the items
// separated by commas (the environment's form); a repeatable flag.
type listValue[T any] struct {
	at func(*Config) *[]T
	// parse reads one item; its error names the item.
	parse func(s string) (T, *FieldError)
	// format writes one item as parse reads it.
	format func(T) string
	// valid validates the list as a whole, with the Config at hand;
	// each error names its item.
	valid func(c *Config, l []T) []*FieldError
}

func (v listValue[T]) kind() Kind { return KindList }

func (v listValue[T]) text(c *Config) any {
	out := []string{}
	for _, x := range *v.at(c) {
		out = append(out, v.format(x))
	}
	return out
}

func (v listValue[T]) set(c *Config, raw any) []*FieldError {
	items, e := asList(raw)
	if e != nil {
		return []*FieldError{e}
	}
	var l []T
	var errs []*FieldError
	for _, s := range items {
		x, e := v.parse(s)
		if e != nil {
			if e.Value == "" {
				e.Value = strconv.Quote(s)
			}
			errs = append(errs, e)
			continue
		}
		l = append(l, x)
	}
	if len(errs) == 0 {
		*v.at(c) = l
	}
	return errs
}

func (v listValue[T]) check(c *Config) []*FieldError {
	if v.valid == nil {
		return nil
	}
	return v.valid(c, *v.at(c))
}

// asString reads a scalar as text.
func asString(v any) (string, *FieldError) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case int, int64, uint64, float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", &FieldError{Value: fmt.Sprint(v), Reason: "want a string"}
}

// asList reads a YAML sequence of strings, or text with the items
// separated by commas.
func asList(v any) ([]string, *FieldError) {
	var out []string
	switch x := v.(type) {
	case nil:
	case []string:
		out = append(out, x...)
	case []any:
		for _, e := range x {
			s, err := asString(e)
			if err != nil {
				return nil, &FieldError{Value: fmt.Sprint(v), Reason: "want a list of strings"}
			}
			out = append(out, s)
		}
	case string:
		for s := range strings.SplitSeq(x, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	default:
		return nil, &FieldError{Value: fmt.Sprint(v), Reason: "want a list of strings"}
	}
	return out, nil
}

// fmtDuration writes d as time.Duration.String does, without the zero
// minutes and seconds: 24h, 10m, 1h30m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// parsedValue is a value written as text that parse reads (a prefix).
type parsedValue[T any] struct {
	at     func(*Config) *T
	parse  func(string) (T, bool)
	syntax string // the reason given for text parse cannot read
	format func(T) string
	valid  func(c *Config, v T) *FieldError
}

func (v parsedValue[T]) kind() Kind         { return KindString }
func (v parsedValue[T]) text(c *Config) any { return v.format(*v.at(c)) }

func (v parsedValue[T]) set(c *Config, raw any) []*FieldError {
	s, e := asString(raw)
	if e != nil {
		return []*FieldError{e}
	}
	x, ok := v.parse(s)
	if !ok {
		return []*FieldError{{Value: strconv.Quote(s), Reason: v.syntax}}
	}
	*v.at(c) = x
	return nil
}

func (v parsedValue[T]) check(c *Config) []*FieldError {
	x := *v.at(c)
	return fill(v.valid(c, x), strconv.Quote(v.format(x)))
}
