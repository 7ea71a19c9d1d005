package borderrouter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// jsonKeys reads one JSON log line's top-level keys in order, and the
// object (later keys win), without folding duplicates as
// json.Unmarshal does.
func jsonKeys(t *testing.T, line string) ([]string, map[string]any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %v %q", err, line)
	}
	var keys []string
	obj := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		k := tok.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		keys = append(keys, k)
		obj[k] = v
	}
	return keys, obj
}

func duplicates(keys []string) []string {
	var d []string
	for i, k := range keys {
		if slices.Contains(keys[:i], k) && !slices.Contains(d, k) {
			d = append(d, k)
		}
	}
	return d
}

// TestLoggerUniqueKeys: whatever the calls pass, a JSON line has each key
// once; an attribute named like the handler's own keys is kept under
// attr_<key>; the innermost value of a repeated key wins; durations are
// text. The raw slog JSON handler fails the same checks (the test can
// fail).
func TestLoggerUniqueKeys(t *testing.T) {
	emit := func(log *slog.Logger) {
		l := log.With("component", "outer").With("component", "inner", "node", "n1")
		l.Info("first", "msg", "shadow", "time", 1, "level", "x", "source", "y", "node", "n2")
		l.Warn("second", "k", 1, "k", 2, slog.Group("", "k", 3), "uptime", 70*time.Second)
		l.WithGroup("g").Info("third", "msg", "in a group", "k", 1)
	}
	var raw bytes.Buffer
	emit(slog.New(slog.NewJSONHandler(&raw, nil)))
	if keys, _ := jsonKeys(t, strings.SplitN(raw.String(), "\n", 2)[0]); len(duplicates(keys)) == 0 {
		t.Fatalf("slog's own JSON handler wrote no duplicate: the test checks nothing (%v)", keys)
	}

	var b bytes.Buffer
	log, _ := NewLogger(&b, LogConfig{Format: "json", Level: slog.LevelDebug})
	emit(log)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines:\n%s", len(lines), b.String())
	}
	objs := make([]map[string]any, len(lines))
	for i, line := range lines {
		keys, obj := jsonKeys(t, line)
		if d := duplicates(keys); len(d) > 0 {
			t.Errorf("line %d: duplicate keys %v: %s", i, d, line)
		}
		objs[i] = obj
	}
	for k, want := range map[string]any{"msg": "first", "attr_msg": "shadow", "attr_time": 1.0, "attr_level": "x",
		"attr_source": "y", "level": "INFO", "component": "inner", "node": "n2"} {
		if objs[0][k] != want {
			t.Errorf("first line: %s = %v, want %v (%v)", k, objs[0][k], want, lines[0])
		}
	}
	if objs[1]["k"] != 3.0 || objs[1]["uptime"] != "1m10s" {
		t.Errorf("second line: k %v (want the last, 3), uptime %v (want 1m10s): %s", objs[1]["k"], objs[1]["uptime"], lines[1])
	}
	if g, ok := objs[2]["g"].(map[string]any); !ok || g["msg"] != "in a group" || objs[2]["msg"] != "third" || objs[2]["component"] != "inner" {
		t.Errorf("third line: the group's keys are its own: %s", lines[2])
	}

	b.Reset()
	log, _ = NewLogger(&b, LogConfig{Format: "text"})
	emit(log)
	if s := b.String(); strings.Count(s, " msg=") != 3 || !strings.Contains(s, "attr_msg=shadow") || !strings.Contains(s, "uptime=1m10s") {
		t.Errorf("text format:\n%s", s)
	}
}

// reservedLogKeys are the keys slog's handlers write themselves.
var reservedLogKeys = []string{slog.TimeKey, slog.LevelKey, slog.MessageKey, slog.SourceKey}

// TestLogCallsKeys reads every slog call in the module's code and fails
// on one that passes a key the handler writes itself (msg, time, level,
// source) or the same key twice: uniqueKeys keeps the line valid JSON,
// but the value is renamed or lost, which the author did not mean.
func TestLogCallsKeys(t *testing.T) {
	problems, files, calls, err := scanLogKeys("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
	if files < 20 || calls < 100 {
		t.Fatalf("read %d files, %d log calls: the walk missed the module", files, calls)
	}
	// The scanner finds what it looks for.
	dir := t.TempDir()
	bad := `package x

import "log/slog"

func f(log *slog.Logger, kind string) {
	log.Info("nd: registration", "msg", kind)
	log.With("component", "a").Warn("w", slog.String("node", "n1"), "node", "n2")
	log.Info("fine", "k", 1, slog.Int("j", 2))
}
`
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, _, calls, err = scanLogKeys(dir)
	if err != nil || len(problems) != 2 || calls != 4 || !strings.Contains(problems[0], `"msg"`) || !strings.Contains(problems[1], `"node" twice`) {
		t.Errorf("scan of a bad file: %v, %d calls, %q", err, calls, problems)
	}
}

// scanLogKeys checks the slog calls of the Go files under root (test
// files and testdata excepted).
func scanLogKeys(root string) (problems []string, files, calls int, err error) {
	// The logging methods of *slog.Logger and where their key-value
	// arguments start.
	methods := map[string]int{"Debug": 1, "Info": 1, "Warn": 1, "Error": 1, "DebugContext": 2, "InfoContext": 2,
		"WarnContext": 2, "ErrorContext": 2, "Log": 3, "LogAttrs": 3, "With": 0}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !bytes.Contains(src, []byte(`"log/slog"`)) {
			return nil
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			start, ok := methods[sel.Sel.Name]
			if !ok || len(c.Args) < start || (start > 0 && !isStringArg(c.Args[start-1])) {
				return true
			}
			calls++
			keys := logCallKeys(c.Args[start:])
			for i, k := range keys {
				if slices.Contains(reservedLogKeys, k) {
					problems = append(problems, fmt.Sprintf("%s: %s passes the key %q, which the handler writes itself", fset.Position(c.Pos()), sel.Sel.Name, k))
				} else if k != "" && slices.Contains(keys[:i], k) {
					problems = append(problems, fmt.Sprintf("%s: %s passes the key %q twice", fset.Position(c.Pos()), sel.Sel.Name, k))
				}
			}
			return true
		})
		return nil
	})
	return problems, files, calls, err
}

// isStringArg: a message argument (a literal, or anything not obviously
// another type) — skips calls such as errors' or testing's Error(err).
func isStringArg(e ast.Expr) bool {
	switch a := e.(type) {
	case *ast.BasicLit:
		return a.Kind == token.STRING
	case *ast.CallExpr, *ast.BinaryExpr, *ast.Ident, *ast.SelectorExpr:
		return true
	}
	return false
}

// logCallKeys lists the literal keys of a log call's arguments: "key",
// value pairs and slog.String("key", …)-style attributes. Keys computed
// at run time are not seen (uniqueKeys covers them).
func logCallKeys(args []ast.Expr) []string {
	var keys []string
	for i := 0; i < len(args); {
		if ce, ok := args[i].(*ast.CallExpr); ok {
			if s, ok := ce.Fun.(*ast.SelectorExpr); ok {
				if id, ok := s.X.(*ast.Ident); ok && id.Name == "slog" {
					if len(ce.Args) > 0 {
						if bl, ok := ce.Args[0].(*ast.BasicLit); ok && bl.Kind == token.STRING {
							k, _ := strconv.Unquote(bl.Value)
							keys = append(keys, k)
						}
					}
					i++
					continue
				}
			}
		}
		if bl, ok := args[i].(*ast.BasicLit); ok && bl.Kind == token.STRING {
			k, _ := strconv.Unquote(bl.Value)
			keys = append(keys, k)
			i += 2
			continue
		}
		i++
	}
	return keys
}
