# Front door only: the build itself is described in premake5.lua.
#   make [LUA=5.4] [CONFIG=release]   build everything into build/$(LUA)/$(CONFIG)
#   make run                          the demo (forks a worker, pipes both ways)
#   make test                         every suite, on every Lua, plus sanitizers
#   make bench                        the benchmarks
#   make install PREFIX=/usr/local    header, libipc.so/.a, ipc.pc, ipc.so, ipcsh
#   make uninstall PREFIX=...         removes exactly what install put there
#   make clean

LUA     ?= 5.4
CONFIG  ?= release
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   := build/$(LUA)
OUT     := $(BUILD)/$(CONFIG)
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)

# premake5 if there is one, else Debian's premake4 through the shim.
PREMAKE        := $(shell command -v premake5 >/dev/null 2>&1 && echo premake5 || echo premake4)
PREMAKE_ACTION := $(if $(filter premake5,$(PREMAKE)),gmake2,gmake)

# Where `make install` puts the Lua module: <prefix>/lib/lua/<5.x>, which is
# on the default package.cpath of Debian's Lua when PREFIX=/usr/local.
LUA_ABI      := $(if $(filter luajit,$(LUA)),5.1,$(LUA))
LUA_CMOD_DIR ?= $(PREFIX)/lib/lua/$(LUA_ABI)
LUA_BIN      := $(if $(filter luajit,$(LUA)),luajit,lua$(LUA))

VERSION := $(shell sed -n 's/^\#define IPC_VERSION_STRING "\(.*\)"/\1/p' libipc/include/ipc.h)

.PHONY: all build generate run test bench install uninstall clean format lint

all: build

# Generated every time: globs (tests/c/*.c, examples/*.c ...) are read then.
generate:
	@$(PREMAKE) --file=premake5.lua --lua=$(LUA) $(PREMAKE_ACTION) >/dev/null

build: generate
	@$(MAKE) --no-print-directory -C $(BUILD) config=$(CONFIG) -j$(JOBS)

run: build
	@LUA_CPATH='$(OUT)/lua/?.so;;' $(LUA_BIN) examples/demo.lua
	@echo
	@echo "Next: start the shell with  $(OUT)/ipcsh  (help() lists what is there, Ctrl-D leaves)."

test:
	@scripts/test

bench: build
	@scripts/bench

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

lint:
	@scripts/lint

install: build
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LUA_CMOD_DIR)
	install -m 644 libipc/include/ipc.h $(DESTDIR)$(PREFIX)/include/ipc.h
	install -m 755 $(OUT)/libipc.so $(DESTDIR)$(PREFIX)/lib/libipc.so.$(VERSION)
	ln -sf libipc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libipc.so.0
	ln -sf libipc.so.0 $(DESTDIR)$(PREFIX)/lib/libipc.so
	install -m 644 $(OUT)/static/libipc.a $(DESTDIR)$(PREFIX)/lib/libipc.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' scripts/ipc.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/ipc.pc
	install -m 755 $(OUT)/lua/ipc.so $(DESTDIR)$(LUA_CMOD_DIR)/ipc.so
	install -m 755 $(OUT)/ipcsh $(DESTDIR)$(PREFIX)/bin/ipcsh

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/ipc.h \
	  $(DESTDIR)$(PREFIX)/lib/libipc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libipc.so.0 \
	  $(DESTDIR)$(PREFIX)/lib/libipc.so $(DESTDIR)$(PREFIX)/lib/libipc.a \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/ipc.pc $(DESTDIR)$(LUA_CMOD_DIR)/ipc.so \
	  $(DESTDIR)$(PREFIX)/bin/ipcsh

clean:
	rm -rf build
