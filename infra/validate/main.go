// Command validate checks the deployment files offline (npm run validate:deploy builds and runs it):
//
//	validate compose <docker-compose.yml>...
//	    loads each file with compose-go's loader (what docker compose itself uses): schema, interpolation,
//	    normalisation and consistency checks (unknown services in depends_on, undefined volumes, ...).
//	validate k8s -schemas <dir> -kubernetes-version <x.y.z> <manifest.yaml>...
//	    validates every resource with kubeconform in strict mode (unknown fields are errors) against the
//	    Kubernetes JSON schemas under <dir> (<version>-local-strict/<kind>-<group>-<version>.json); a
//	    resource without a schema is an error, never skipped.
//
// Exit status: 0 all valid, 1 something invalid, 2 bad arguments.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/yannh/kubeconform/pkg/validator"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var failed bool
	switch os.Args[1] {
	case "compose":
		failed = validateCompose(os.Args[2:])
	case "k8s":
		failed = validateK8s(os.Args[2:])
	default:
		usage()
	}
	if failed {
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: validate compose <file>... | validate k8s -schemas <dir> -kubernetes-version <x.y.z> <file>...")
	os.Exit(2)
}

func validateCompose(files []string) bool {
	if len(files) == 0 {
		usage()
	}
	failed := false
	for _, file := range files {
		opts, err := cli.NewProjectOptions([]string{file},
			cli.WithWorkingDirectory(filepath.Dir(file)),
			cli.WithOsEnv,
			cli.WithConsistency(true),
			cli.WithInterpolation(true),
			cli.WithNormalization(true),
		)
		if err == nil {
			var services []string
			project, loadErr := opts.LoadProject(context.Background())
			err = loadErr
			if err == nil {
				for name := range project.Services {
					services = append(services, name)
				}
				sort.Strings(services)
				fmt.Printf("compose %s: valid, project %s, %d services (%s)\n", file, project.Name, len(services), strings.Join(services, ", "))
				continue
			}
		}
		failed = true
		fmt.Printf("compose %s: INVALID: %v\n", file, err)
	}
	return failed
}

func validateK8s(args []string) bool {
	fs := flag.NewFlagSet("k8s", flag.ExitOnError)
	schemas := fs.String("schemas", "", "directory holding <version>-local-strict/ schema folders")
	version := fs.String("kubernetes-version", "", "Kubernetes version of the schemas, e.g. 1.33.0")
	_ = fs.Parse(args)
	if *schemas == "" || *version == "" || fs.NArg() == 0 {
		usage()
	}
	abs, err := filepath.Abs(*schemas)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	location := abs + "/{{ .NormalizedKubernetesVersion }}-local{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json"
	v, err := validator.New([]string{location}, validator.Opts{
		KubernetesVersion:    *version,
		Strict:               true,
		IgnoreMissingSchemas: false,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	failed := false
	counts := map[string]int{}
	for _, file := range fs.Args() {
		f, err := os.Open(file)
		if err != nil {
			fmt.Printf("k8s %s: %v\n", file, err)
			failed = true
			continue
		}
		for _, res := range v.Validate(file, f) {
			name := file
			if sig, err := res.Resource.Signature(); err == nil {
				name = fmt.Sprintf("%s %s/%s", file, sig.Kind, sig.Name)
			}
			switch res.Status {
			case validator.Valid:
				counts["valid"]++
			case validator.Empty:
				counts["empty"]++
			case validator.Skipped:
				// Nothing is configured to be skipped; count it as a failure if it ever happens.
				failed = true
				fmt.Printf("k8s %s: SKIPPED\n", name)
			case validator.Invalid:
				failed = true
				fmt.Printf("k8s %s: INVALID: %v\n", name, res.Err)
			default:
				failed = true
				fmt.Printf("k8s %s: ERROR: %v\n", name, res.Err)
			}
		}
	}
	fmt.Printf("k8s: %d resources valid (strict, Kubernetes %s schemas)\n", counts["valid"], *version)
	return failed
}
