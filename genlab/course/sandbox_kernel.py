"""The grading kernel: IPython's kernel with genlab.course.guard's capture taken after the kernel is set up and before
the first cell, so that every original the tests rely on is kept before any student code runs."""

import sys


def main():
    from ipykernel.kernelapp import IPKernelApp

    from genlab.course import guard

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    guard.capture()
    app.start()


if __name__ == "__main__":
    main()
