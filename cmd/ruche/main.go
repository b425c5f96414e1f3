// Command ruche turns a refurbished machine into an association's server
// from one declarative pack. The command tree lives in package cli.
package main

import (
	"os"

	"github.com/ruche-box/ruche/cmd/ruche/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], cli.Std()))
}
