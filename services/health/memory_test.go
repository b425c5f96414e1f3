package health

import (
	"maps"
	"os"
	"os/exec"
	"testing"
)

func TestMemoryLevel(t *testing.T) {
	const gib = 1 << 30
	for _, tc := range []struct {
		m    Memory
		want Level
	}{
		{Memory{Total: gib, Available: gib / 2}, OK},
		{Memory{Total: gib, Available: gib / 20}, Warning}, // 95 % used
		{Memory{Total: gib, Available: gib / 100}, Problem},
		{Memory{}, OK}, // unknown: no alarm
	} {
		if got := tc.m.Level(); got != tc.want {
			t.Errorf("%+v (%.0f %%): %v, want %v", tc.m, tc.m.UsedPercent(), got, tc.want)
		}
	}
}

// The real kernel's figures: the machine's memory, and a process tree's,
// children included.
func TestReadMemoryAndTree(t *testing.T) {
	m, err := ReadMemory()
	if err != nil {
		t.Fatal(err)
	}
	if m.Total < 64<<20 || m.Available == 0 || m.Available > m.Total {
		t.Errorf("memory: %+v", m)
	}
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	self := os.Getpid()
	sizes, err := TreeMemory([]int{self, child.Process.Pid, 0})
	if err != nil {
		t.Fatal(err)
	}
	// The child counts for itself only: the nearest asked-for ancestor
	// takes a process, and the child is asked for.
	if sizes[child.Process.Pid] == 0 || sizes[self] < 1<<20 {
		t.Errorf("tree memory: self %d, child %d", sizes[self], sizes[child.Process.Pid])
	}
}

// Each process counts for the nearest asked-for process among itself and
// its ancestors.
func TestTreeOf(t *testing.T) {
	// 1 → 100 (ruche) → 200 (php-fpm master) → 201, 202 (workers);
	// 100 → 300 (postfix master) → 301; 1 → 400 (sshd, not asked for).
	parent := map[int]int{1: 0, 100: 1, 200: 100, 201: 200, 202: 200, 300: 100, 301: 300, 400: 1}
	got := treeOf(parent, []int{200, 300, 0})
	want := map[int]int{200: 200, 201: 200, 202: 200, 300: 300, 301: 300}
	if !maps.Equal(got, want) {
		t.Errorf("treeOf = %v, want %v", got, want)
	}
	// A loop in a damaged table ends.
	if got := treeOf(map[int]int{5: 6, 6: 5}, []int{7}); len(got) != 0 {
		t.Errorf("loop: %v", got)
	}
}
