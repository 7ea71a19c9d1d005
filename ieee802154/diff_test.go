package ieee802154

import (
	"fmt"
	"reflect"
	"strings"
)

// diff returns "" when want and got are deeply equal, else one "-path: want"
// and one "+path: got" line per differing leaf, for messages printed as
// "(-want +got)". Byte slices are compared by content, nil apart from empty.
func diff(want, got any) string {
	var sb strings.Builder
	diffValue(&sb, "", reflect.ValueOf(want), reflect.ValueOf(got))
	return sb.String()
}

func diffValue(sb *strings.Builder, path string, w, g reflect.Value) {
	if w.Kind() == reflect.Struct && w.Type() == g.Type() {
		for i := range w.NumField() {
			name := w.Type().Field(i).Name
			p := name
			if path != "" {
				p = path + "." + name
			}
			diffValue(sb, p, w.Field(i), g.Field(i))
		}
		return
	}
	if w.Kind() == reflect.Slice && g.Kind() == reflect.Slice {
		if (w.IsNil() != g.IsNil()) || !reflect.DeepEqual(w.Interface(), g.Interface()) && !(w.Len() == 0 && g.Len() == 0) {
			fmt.Fprintf(sb, "-%s: %s\n+%s: %s\n", path, fmtSlice(w), path, fmtSlice(g))
		}
		return
	}
	if !reflect.DeepEqual(w.Interface(), g.Interface()) {
		fmt.Fprintf(sb, "-%s: %v\n+%s: %v\n", path, w.Interface(), path, g.Interface())
	}
}

func fmtSlice(v reflect.Value) string {
	if v.IsNil() {
		return "nil"
	}
	if b, ok := v.Interface().([]byte); ok {
		return fmt.Sprintf("[% x]", b)
	}
	return fmt.Sprint(v.Interface())
}
