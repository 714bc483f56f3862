# Shortcuts for the scripts the README documents.
.PHONY: build run test clean
build:
	scripts/build.sh
run:
	scripts/run.sh
test:
	scripts/test.sh
clean:
	rm -rf build
