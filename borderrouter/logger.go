package borderrouter

import (
	"context"
	"log/slog"
	"slices"
)

// uniqueKeys is a slog.Handler in front of the JSON or text handler that
// keeps every key of a record's top level once. slog's handlers write
// what they are given: a call passing "msg" (or "time", "level",
// "source") as an attribute, or a component that adds "component" again
// to a logger that has it (sim/otsim's bridge does, under the
// "component" the border router gives it), writes the key twice, and a
// JSON line with a duplicate key is read differently by every parser
// (RFC 8259 §4: "the names within an object SHOULD be unique").
//
// An attribute named like one of the handler's own keys is renamed with
// the prefix "attr_" ("attr_msg"); of two attributes with one key the
// later wins (the call's over the logger's With, the innermost With over
// the outer), as a map would. Attributes inside a group (WithGroup) are
// the group's own and left alone.
//
// It also writes durations as text ("1m30s"): slog's JSON handler writes
// a time.Duration as integer nanoseconds, which nobody reads as "uptime".
type uniqueKeys struct {
	inner slog.Handler
	// attrs: the logger's With attributes not yet given to inner (they
	// are merged with each record's); once a group is open they are.
	attrs   []slog.Attr
	grouped bool
}

func newUniqueKeys(h slog.Handler) *uniqueKeys { return &uniqueKeys{inner: h} }

// reservedKeys are the keys the handlers write themselves.
var reservedKeys = [...]string{slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey}

// reservedPrefix renames an attribute whose key is one of reservedKeys.
const reservedPrefix = "attr_"

func (h *uniqueKeys) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *uniqueKeys) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	if h.grouped {
		return &uniqueKeys{inner: h.inner.WithAttrs(as), grouped: true}
	}
	return &uniqueKeys{inner: h.inner, attrs: mergeAttrs(slices.Clip(h.attrs), as)}
}

func (h *uniqueKeys) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	inner := h.inner
	if len(h.attrs) > 0 {
		inner = inner.WithAttrs(h.attrs)
	}
	return &uniqueKeys{inner: inner.WithGroup(name), grouped: true}
}

func (h *uniqueKeys) Handle(ctx context.Context, r slog.Record) error {
	if h.grouped {
		return h.inner.Handle(ctx, r)
	}
	var buf [16]slog.Attr
	as := buf[:0]
	r.Attrs(func(a slog.Attr) bool {
		as = append(as, a)
		return true
	})
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(mergeAttrs(slices.Clip(h.attrs), as)...)
	return h.inner.Handle(ctx, out)
}

// mergeAttrs appends add to base (which it may not change in place) with
// one attribute per key, the later winning, reserved keys renamed, empty
// groups' attributes inlined as slog inlines them.
func mergeAttrs(base, add []slog.Attr) []slog.Attr {
	out := base
	for _, a := range add {
		out = mergeAttr(out, a)
	}
	return out
}

func mergeAttr(out []slog.Attr, a slog.Attr) []slog.Attr {
	a.Value = a.Value.Resolve()
	if a.Key == "" {
		if a.Value.Kind() == slog.KindGroup {
			for _, g := range a.Value.Group() {
				out = mergeAttr(out, g)
			}
		}
		return out // slog drops an empty key with any other value
	}
	if slices.Contains(reservedKeys[:], a.Key) {
		a.Key = reservedPrefix + a.Key
	}
	if i := slices.IndexFunc(out, func(b slog.Attr) bool { return b.Key == a.Key }); i >= 0 {
		// base is shared by every record of a logger: replace in a copy.
		out = slices.Delete(slices.Clone(out), i, i+1)
	}
	return append(out, a)
}

// durationText is the handlers' ReplaceAttr: a duration as Go writes it
// ("1m30s", what the text handler writes too, and time.ParseDuration
// reads).
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}
