// Package cli is ruche's command tree: one file per command, one place that
// maps errors to exit codes (exitCode). Tests drive it with Main and their
// own streams.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ruche-box/ruche/provision"
	"github.com/ruche-box/ruche/provision/i18n"
)

// Exit codes (DESIGN.md): 0 ok, 1 failed or invalid, 2 usage, 3 another
// apply holds the lock.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
	ExitLocked = 3
)

// Streams are where a command reads and writes.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Std returns the process's standard streams.
func Std() Streams { return Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr} }

// globalOptions are the flags every command has.
type globalOptions struct {
	Root    string // where every path of the box lives
	Lang    string // fr | en; empty: the pack's locale, else French
	streams Streams
}

// lang is the language to speak: --lang, else the pack's, else French.
func (g *globalOptions) lang(p *provision.Pack) i18n.Lang {
	if g.Lang != "" {
		return i18n.Parse(g.Lang)
	}
	if p != nil {
		return i18n.Lang(p.Locale())
	}
	return i18n.FR
}

// usageError marks errors that are the caller's misuse of the command line.
type usageError struct{ error }

// silentError carries an exit code for an error already reported.
type silentError struct{ code int }

func (e silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// exitCode is the one place errors become exit codes.
func exitCode(err error) int {
	var silent silentError
	var usage usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &usage):
		return ExitUsage
	case errors.Is(err, provision.ErrLocked):
		return ExitLocked
	default:
		return ExitFailed
	}
}

var msgLocked = i18n.M{
	FR: "une autre application du pack est en cours ; réessayez quand elle aura fini",
	EN: "another apply is running; try again when it has finished",
}

// NewRootCommand builds the command tree.
func NewRootCommand(streams Streams) *cobra.Command {
	g := &globalOptions{streams: streams}
	root := &cobra.Command{
		Use:   "ruche",
		Short: "Ruche: l'association dans une boîte / an association in a box",
		Long: `ruche installs, configures and supervises an association's server from one
declarative pack (YAML): wiki, websites, mail aliases, backups, admin panel.

Exit codes: 0 ok, 1 failed or invalid, 2 usage, 3 another apply holds the lock.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.Err)
	root.PersistentFlags().StringVar(&g.Root, "root", "/", "folder every path of the box lives under")
	root.PersistentFlags().StringVar(&g.Lang, "lang", "", "language of messages: fr or en (default: the pack's locale, else fr)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newValidateCommand(g),
		newPlanCommand(g),
		newApplyCommand(g),
		newUpCommand(g),
		newRevisionsCommand(g),
		newRollbackCommand(g),
		newUserCommand(g),
		newBackupCommand(g),
		newMailCommand(g),
		newDoctorCommand(g),
		newVersionCommand(g),
	)
	return root
}

// Main runs ruche with args and returns the exit code.
func Main(args []string, streams Streams) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := NewRootCommand(streams)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var silent silentError
	if !errors.As(err, &silent) {
		lang := i18n.FR
		if l := langFlag(cmd); l != "" {
			lang = i18n.Parse(l)
		}
		if errors.Is(err, provision.ErrLocked) {
			fmt.Fprintln(streams.Err, "ruche: "+msgLocked.In(lang))
		} else {
			fmt.Fprintln(streams.Err, "ruche: "+i18n.Localize(err, lang))
		}
	}
	code := exitCode(err)
	if code == ExitFailed && isCobraUsage(err) {
		code = ExitUsage
	}
	return code
}

func langFlag(cmd *cobra.Command) string {
	f := cmd.PersistentFlags().Lookup("lang")
	if f == nil {
		return ""
	}
	return f.Value.String()
}

// exactArgs is cobra.ExactArgs whose error is a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}

// isCobraUsage recognises cobra's own errors for unknown commands.
func isCobraUsage(err error) bool {
	msg := err.Error()
	return len(msg) > 16 && (msg[:16] == "unknown command " || msg[:15] == "unknown flag: -" || msg[:14] == "unknown shortha")
}
