"""`genlab` command line: build the course, run lessons, grade submissions, the demo, the static site, data status."""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="genlab", description="genlab course tools")
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("build", help="lessons/*.py -> starter/ and solutions/ notebooks")
    p.add_argument("lessons", nargs="*", help="lesson names or numbers (default: all)")

    p = commands.add_parser("run", help="execute solution notebooks in a profile, save them under reports/executed")
    p.add_argument("lessons", nargs="*")
    p.add_argument("--profile", default="smoke", choices=["smoke", "cpu", "gpu"])
    p.add_argument("--timeout", type=int, default=None,
                   help="seconds a cell may run (default: 300 in smoke, no limit in cpu and gpu)")

    p = commands.add_parser("grade", help="autograde autograder/submitted/ in parallel, write feedback and grade exports")
    p.add_argument("--course", default=None, help="nbgrader course folder (default: autograder/)")
    p.add_argument("--jobs", "-j", type=int, default=1, help="submissions graded at once (one GPU each where there are GPUs)")
    p.add_argument("--lesson", action="append", help="only lessons matching this glob (repeatable), e.g. '02_*'")
    p.add_argument("--student", action="append", help="only students matching this glob (repeatable)")
    p.add_argument("--only-new", action="store_true", help="skip submissions unchanged since their last successful grade")
    p.add_argument("--timeout", type=float, default=None, help="seconds a whole submission may take (default: no limit)")
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds one cell may take (default: 600, from the config)")
    p.add_argument("--roster", default=None, help="roster CSV (default: roster.csv in the course folder, when present)")
    p.add_argument("--claim", action="store_true",
                   help="share the work with other `genlab grade --claim` runs (other machines) on this course folder "
                        "through the Postgres gradebook: each submission is graded once, by whoever claims it first")
    p.add_argument("--graded-cells-only", action="store_true",
                   help="execute each submission up to its last graded cell: the same points, much faster, but feedback "
                        "without the training run and figures that follow")
    p.add_argument("--slurm", action="store_true",
                   help="submit to Slurm instead: an array job, one task per submission, then feedback and exports")
    p.add_argument("--slurm-gres", default="gpu:1", help="each task's --gres (default gpu:1; '' on a CPU cluster)")
    p.add_argument("--sbatch-arg", action="append", default=[],
                   help="passed to both sbatch calls, e.g. --sbatch-arg=--partition=gpu (repeatable)")

    p = commands.add_parser("grade-task", help="(run by Slurm) grade one line of a --slurm run's submissions.txt")
    p.add_argument("run_dir")
    p.add_argument("index", type=int)
    p = commands.add_parser("grade-finish", help="(run by Slurm) merge a --slurm run's outcomes, feedback, exports")
    p.add_argument("run_dir")

    p = commands.add_parser("feedback", help="feedback pages of fully graded submissions (after manual grading)")
    p.add_argument("--course", default=None, help="nbgrader course folder (default: autograder/)")
    p.add_argument("--lesson", action="append", help="only these lessons (default: every lesson graded)")
    p.add_argument("--release", action="store_true", help="also release them to the exchange (JupyterHub)")

    p = commands.add_parser("demo", help="build, run every lesson (smoke), autograde made-up submissions, report")
    p.add_argument("lessons", nargs="*")

    p = commands.add_parser("site", help="execute the solutions and render them as HTML pages under site/")
    p.add_argument("lessons", nargs="*")
    p.add_argument("--profile", default="smoke", choices=["smoke", "cpu", "gpu"])

    p = commands.add_parser("data", help="show where each dataset is found (downloads it if missing and online)")
    p.add_argument("names", nargs="*", default=["MNIST", "FashionMNIST", "CIFAR10"])

    args = parser.parse_args(argv)
    if args.command == "build":
        from genlab.course import build

        build.build(args.lessons)
    elif args.command == "run":
        from genlab.course import build, demo

        failed = 0
        for lesson in build.resolve_lessons(args.lessons):
            outcome = demo.execute(lesson, args.profile, timeout=args.timeout)
            print(f"{lesson} ({args.profile}): {outcome['seconds']:.0f} s -> {outcome['notebook']}")
            if outcome["error"]:
                failed += 1
                print(f"  STOPPED: {outcome['error']} (the notebook above keeps every output up to there)")
            for key, value in outcome["results"].items():
                print(f"  {key}: {value}")
        return 1 if failed else 0
    elif args.command == "grade":
        from genlab.course import grade, nbgrader

        if args.jobs < 1:
            parser.error("--jobs must be at least 1")
        if args.claim and args.slurm:
            parser.error("--claim and --slurm do not go together: with Slurm the scheduler hands out the submissions "
                         "(one array task each); --claim is for machines without a scheduler.")
        from genlab.course import forked_cells

        if forked_cells.asked_for():
            parser.error(f"{forked_cells.VARIABLE} is set: it runs notebooks without a kernel or sandbox, for the test "
                         f"suite's made-up submissions only. Unset it to grade real submissions.")
        nbgrader_args = [f"--Execute.timeout={args.cell_timeout}"] if args.cell_timeout else []
        if args.graded_cells_only:  # read by nbgrader_config.py's preprocessors in every grader (Slurm tasks included)
            from genlab.course import graded_cells_only

            os.environ[graded_cells_only.VARIABLE] = "1"
        if args.slurm:
            from genlab.course import slurm

            slurm.submit(args.course or nbgrader.COURSE_DIR, lessons=args.lesson, students=args.student,
                         only_new=args.only_new, timeout_s=args.timeout, roster_path=args.roster,
                         max_running=args.jobs if args.jobs > 1 else None, gres=args.slurm_gres,
                         sbatch_args=args.sbatch_arg, nbgrader_args=nbgrader_args)
            return 0
        try:
            result = grade.grade_course(args.course or nbgrader.COURSE_DIR, jobs=args.jobs, lessons=args.lesson,
                                        students=args.student, only_new=args.only_new, timeout_s=args.timeout,
                                        roster_path=args.roster, nbgrader_args=nbgrader_args, claim=args.claim)
        except KeyboardInterrupt:
            print("\ninterrupted: the running grades were stopped; the finished ones are in "
                  + ("the gradebook's genlab_claims table (other --claim runs take over the rest)" if args.claim
                     else "grading_status.json (rerun with --only-new to go on)"), file=sys.stderr)
            return 130
        return 1 if result["ungraded"] else 0
    elif args.command == "grade-task":
        from genlab.course import slurm

        return slurm.grade_task(args.run_dir, args.index)
    elif args.command == "grade-finish":
        from genlab.course import slurm

        return 1 if slurm.finish_run(args.run_dir)["ungraded"] else 0
    elif args.command == "feedback":
        from genlab.course import feedback, nbgrader

        feedback.feedback_command(args.course or nbgrader.COURSE_DIR, args.lesson, release=args.release)
        return 0
    elif args.command == "demo":
        from genlab.course import demo

        return demo.demo(args.lessons)
    elif args.command == "site":
        from genlab.course import site

        return site.build_site(args.lessons, args.profile)
    elif args.command == "data":
        from genlab import data

        for name in args.names:
            for split in ("train", "test"):
                loaded = data.load(name, split)
                print(f"{name:13s} {split:5s} {tuple(loaded.images.shape)}  {loaded.source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
