package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQuickstart(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(&out))
	assert.Equal(t, `== job (fail=false) ==
  job: start
  lock released
  job: done
job returned: <nil>
report.txt: "rows: 1000\nstatus: ok\n"
== job (fail=true) ==
  job: start
  lock released
  job: failed: disk quota exceeded (simulated)
job returned: disk quota exceeded (simulated)
report.txt: "rows: 1000\nstatus: ok\n"
`, out.String(), "the failed job left the previous report whole")
}
