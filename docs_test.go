package scope_test

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/doc/comment"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDocsCompile type-checks every Go code block of README.md and of the
// package documentation (doc.go), as written. A block may leave out its
// package clause and imports, and, for statements, the enclosing function,
// and it may use the names in readersNames, which stand for the reader's own
// values; nothing else. So a block with "..." lines, an unused variable or a
// := that declares nothing new fails here, as it would in the reader's
// editor.
//
// With SCOPE_DOCS_OUT set to a directory, the test also writes the blocks
// there as a module of one package per block, for CI to run the scopecheck
// analyzer over: the docs must not teach a shape it reports.
func TestDocsCompile(t *testing.T) {
	blocks := append(markdownBlocks(t, "README.md"), packageDocBlocks(t, "doc.go")...)
	require.NotEmpty(t, blocks)
	imp := newImporter(t)
	var files []docFile
	for _, b := range blocks {
		t.Run(b.name, func(t *testing.T) {
			f, err := b.file()
			if err != nil {
				t.Fatalf("%s does not parse as declarations or statements: %v\n%s", b.name, err, b.code)
			}
			files = append(files, f)
			if err := typeCheck(f, imp); err != nil {
				t.Errorf("%s does not compile: %v\n%s", b.name, err, f.src)
			}
		})
	}
	if out := os.Getenv("SCOPE_DOCS_OUT"); out != "" {
		require.NoError(t, writeDocModule(out, files))
	}
}

// readersNames are the names a documentation block may use without
// declaring them: the reader's own types, values and functions.
const readersNames = `
type Row struct{ Name string }

type Config struct{ Addr string }

var reportMu sync.Mutex

func writeRows(w io.Writer, rows []Row) error { return nil }

func backup() error { return nil }

func download(ctx context.Context, url string) error { return nil }

func checkTime() error { return nil }
`

// knownImports are the packages a block may use by their usual names.
var knownImports = map[string]string{
	"scope": "github.com/go-scope/scope", "multierr": "go.uber.org/multierr",
	"context": "context", "errors": "errors", "fmt": "fmt", "io": "io", "os": "os", "sync": "sync",
	"sql": "database/sql", "json": "encoding/json", "http": "net/http", "time": "time",
	"filepath": "path/filepath", "fs": "io/fs", "log": "log", "testing": "testing", "strings": "strings",
}

// notGo are the first lines of code blocks that are not Go.
var notGo = []string{"Python (contextlib)"}

type docBlock struct{ name, code string }

type docFile struct {
	name string
	src  string
}

var goFence = regexp.MustCompile("(?s)```go\n(.*?)```")

func markdownBlocks(t *testing.T, path string) []docBlock {
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	var blocks []docBlock
	for _, m := range goFence.FindAllSubmatchIndex(src, -1) {
		line := 1 + bytes.Count(src[:m[0]], []byte("\n"))
		blocks = append(blocks, docBlock{fmt.Sprintf("%s:%d", path, line), string(src[m[2]:m[3]])})
	}
	return blocks
}

func packageDocBlocks(t *testing.T, path string) []docBlock {
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
	require.NoError(t, err)
	var blocks []docBlock
	for i, b := range new(comment.Parser).Parse(f.Doc.Text()).Content {
		code, ok := b.(*comment.Code)
		if !ok || slices.ContainsFunc(notGo, func(s string) bool { return strings.HasPrefix(code.Text, s) }) {
			continue
		}
		blocks = append(blocks, docBlock{fmt.Sprintf("%s#%d", path, i), code.Text})
	}
	return blocks
}

// file makes b a Go file: its declarations, or its statements in a function.
func (b docBlock) file() (docFile, error) {
	name := "p" + strings.NewReplacer(".", "_", ":", "_", "#", "_", "/", "_").Replace(b.name)
	src := "package " + name + "\n\n" + b.code
	f, err := parser.ParseFile(token.NewFileSet(), "", src, 0)
	if err != nil {
		src = "package " + name + "\n\nfunc _() error {\n" + b.code + "\nreturn nil\n}\n"
		if f, err = parser.ParseFile(token.NewFileSet(), "", src, 0); err != nil {
			return docFile{}, err
		}
	}
	used := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok {
			if id, ok := sel.X.(*ast.Ident); ok && knownImports[id.Name] != "" {
				used[knownImports[id.Name]] = true
			}
		}
		return true
	})
	var imports []string
	for path := range used {
		imports = append(imports, fmt.Sprintf("\t%q", path))
	}
	sort.Strings(imports)
	header := "package " + name + "\n"
	if len(imports) > 0 {
		header += "\nimport (\n" + strings.Join(imports, "\n") + "\n)\n"
	}
	return docFile{name: name, src: header + strings.TrimPrefix(src, "package "+name+"\n")}, nil
}

// readersFile is readersNames as a file of package name, with the imports it
// needs.
func readersFile(name string) string {
	return "package " + name + "\n\nimport (\n\t\"context\"\n\t\"io\"\n\t\"sync\"\n)\n" + readersNames
}

func typeCheck(f docFile, imp types.Importer) error {
	fset := token.NewFileSet()
	var files []*ast.File
	for i, src := range []string{f.src, readersFile(f.name)} {
		af, err := parser.ParseFile(fset, fmt.Sprintf("file%d.go", i), src, 0)
		if err != nil {
			return err
		}
		files = append(files, af)
	}
	var errs []string
	conf := types.Config{Importer: imp, Error: func(err error) { errs = append(errs, err.Error()) }}
	_, _ = conf.Check(f.name, fset, files, nil)
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return nil
}

// newImporter imports packages from the export data the go command builds,
// for the standard library and this module's dependencies alike.
func newImporter(t *testing.T) types.Importer {
	var paths []string
	for _, p := range knownImports {
		paths = append(paths, p)
	}
	cmd := exec.Command("go", append([]string{"list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}"}, paths...)...)
	out, err := cmd.Output()
	require.NoError(t, err, "go list -export")
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "="); ok && file != "" {
			exports[path] = file
		}
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q: add it to knownImports", path)
		}
		return os.Open(file)
	})
}

// writeDocModule writes the blocks as a module of one package per block,
// using this repository's scope.
func writeDocModule(dir string, files []docFile) error {
	root, err := filepath.Abs(".")
	if err != nil {
		return err
	}
	gomod := "module docblocks\n\ngo 1.24\n\nrequire (\n\tgithub.com/go-scope/scope v0.0.0\n\tgo.uber.org/multierr v1.11.0\n)\n\nreplace github.com/go-scope/scope => " + root + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		return err
	}
	for _, f := range files {
		pkg := filepath.Join(dir, f.name)
		if err := os.MkdirAll(pkg, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(pkg, "block.go"), []byte(f.src), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(pkg, "readers.go"), []byte(readersFile(f.name)), 0o644); err != nil {
			return err
		}
	}
	return nil
}
