package health

import (
	"math"
	"path/filepath"
	"testing"
)

func TestDisk(t *testing.T) {
	u, err := Disk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if u.Total == 0 || u.Free > u.Total || u.UsedPercent < 0 || u.UsedPercent > 100 {
		t.Errorf("Disk(tempdir) = %+v: want Total > 0, Free <= Total, 0 <= UsedPercent <= 100", u)
	}
	if _, err := Disk(filepath.Join(t.TempDir(), "nowhere")); err == nil {
		t.Error("Disk of a missing folder: got no error")
	}
}

func TestDiskUsage(t *testing.T) {
	const unit = 4096
	tests := []struct {
		name                                string
		blocks, bfree, bavail, files, ffree uint64
		wantPercent, wantInodes             float64
		want                                Level
	}{
		{"empty", 1000, 1000, 950, 100, 100, 0, 0, OK},
		{"half", 1000, 500, 500, 100, 50, 50, 50, OK},
		// 840 used, 150 free for users (the 10 reserved do not count): 84.8 %.
		{"below warning", 1000, 160, 150, 100, 90, 100 * 840.0 / 990, 10, OK},
		{"warning", 1000, 110, 100, 100, 90, 100 * 890.0 / 990, 10, Warning},
		{"problem", 1000, 50, 40, 100, 90, 100 * 950.0 / 990, 10, Problem},
		// Full for users while root still has its reserve: df says 100 %.
		{"full but the reserve", 1000, 50, 0, 100, 90, 100, 10, Problem},
		{"out of files", 1000, 900, 850, 1000, 30, 100 * 100.0 / 950, 97, Problem},
		{"no file count (btrfs)", 1000, 900, 850, 0, 0, 100 * 100.0 / 950, 0, OK},
		{"zero-sized", 0, 0, 0, 0, 0, 0, 0, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := diskUsage("/x", unit, tt.blocks, tt.bfree, tt.bavail, tt.files, tt.ffree)
			if u.Total != tt.blocks*unit || u.Free != tt.bavail*unit || u.Used != (tt.blocks-tt.bfree)*unit {
				t.Errorf("Total, Free, Used = %d, %d, %d; want %d, %d, %d", u.Total, u.Free, u.Used, tt.blocks*unit, tt.bavail*unit, (tt.blocks-tt.bfree)*unit)
			}
			if math.Abs(u.UsedPercent-tt.wantPercent) > 0.01 || math.Abs(u.InodesUsedPercent-tt.wantInodes) > 0.01 {
				t.Errorf("UsedPercent, InodesUsedPercent = %.2f, %.2f; want %.2f, %.2f", u.UsedPercent, u.InodesUsedPercent, tt.wantPercent, tt.wantInodes)
			}
			if got := u.Level(); got != tt.want {
				t.Errorf("Level() = %v, want %v", got, tt.want)
			}
		})
	}
}
