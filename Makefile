# Build of the core library, CLIs, unit tests and (through apxs) the modules.
# apxs-build.sh drives this; `make help` lists targets.
APXS      ?= apxs
BUILD     ?= build
APR_CONFIG := $(shell $(APXS) -q APR_CONFIG 2>/dev/null || echo apr-1-config)
APU_CONFIG := $(shell $(APXS) -q APU_CONFIG 2>/dev/null || echo apu-1-config)
APR_INC   := $(shell $(APR_CONFIG) --includes --cppflags)
APR_LIBS  := $(shell $(APR_CONFIG) --link-ld) $(shell $(APU_CONFIG) --link-ld)
WARN      ?= -Wall -Wextra -Werror
OPT       ?= -O2 -g
SAN       ?=
CFLAGS_ALL = -std=gnu11 $(OPT) $(WARN) $(SAN) $(APR_INC) -Imod_gramex -Imod_gramex_secrets -fPIC
LIBS_CORE  = -lyaml -lpcre2-8 $(APR_LIBS) -lm
LIBS_SEC   = -lcurl -lcrypto

CORE_SRC  := $(sort $(wildcard mod_gramex/gx_*.c))
SEC_SRC   := $(sort $(wildcard mod_gramex_secrets/gx_*.c))
CORE_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(CORE_SRC))
SEC_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(SEC_SRC))
UNIT_SRC  := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
CLI_BIN   := $(if $(wildcard mod_gramex/gramex_config.c),$(BUILD)/gramex-config) \
             $(if $(wildcard mod_gramex_secrets/gramex_secrets.c),$(BUILD)/gramex-secrets)

.PHONY: all core cli unit modules clean help
all: core cli unit modules

help:
	@echo "targets: core cli unit modules clean  (vars: WARN OPT SAN APXS BUILD)"

core: $(BUILD)/libgxcore.a $(if $(SEC_SRC),$(BUILD)/libgxsecrets.a)
cli: $(CLI_BIN)
unit: $(UNIT_BIN)

$(BUILD)/%.o: %.c $(wildcard mod_gramex/*.h mod_gramex_secrets/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/libgxcore.a: $(CORE_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/libgxsecrets.a: $(SEC_OBJ)
	@rm -f $@; ar rcs $@ $^

SEC_LINK = $(if $(SEC_SRC),$(BUILD)/libgxsecrets.a $(LIBS_SEC))

$(BUILD)/gramex-config: mod_gramex/gramex_config.c $(BUILD)/libgxcore.a $(if $(SEC_SRC),$(BUILD)/libgxsecrets.a)
	$(CC) $(CFLAGS_ALL) $(if $(SEC_SRC),-DGX_WITH_SECRETS) $< -o $@ $(SEC_LINK) $(BUILD)/libgxcore.a $(LIBS_CORE)

$(BUILD)/gramex-secrets: mod_gramex_secrets/gramex_secrets.c $(BUILD)/libgxsecrets.a $(BUILD)/libgxcore.a
	$(CC) $(CFLAGS_ALL) $< -o $@ $(SEC_LINK) $(BUILD)/libgxcore.a $(LIBS_CORE)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/gx_test.h $(BUILD)/libgxcore.a $(if $(SEC_SRC),$(BUILD)/libgxsecrets.a)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $< -o $@ $(SEC_LINK) $(BUILD)/libgxcore.a $(LIBS_CORE)

# Modules: apxs compiles glue + core sources together into one .so each.
# Hidden symbols: each module keeps its own copy of the core (httpd loads
# modules RTLD_GLOBAL); only the module records are exported.
APXS_CFLAGS = -Wc,-std=gnu11 -Wc,-fvisibility=hidden $(foreach f,$(WARN) $(SAN),-Wc,$(f)) \
              $(foreach f,$(SAN),-Wl,$(f)) -Imod_gramex -Imod_gramex_secrets
modules: $(BUILD)/mod_gramex.so $(if $(wildcard mod_gramex_secrets/mod_gramex_secrets.c),$(BUILD)/mod_gramex_secrets.so) \
         $(if $(wildcard mod_gramex_ws/mod_gramex_ws.c),$(BUILD)/mod_gramex_ws.so)

define apxs_module
	@mkdir -p $(BUILD)/apxs/$(1)
	cp $(2) $(BUILD)/apxs/$(1)/
	cd $(BUILD)/apxs/$(1) && $(APXS) -c $(APXS_CFLAGS) -I$(CURDIR)/mod_gramex -I$(CURDIR)/mod_gramex_secrets -I$(CURDIR)/mod_gramex_ws \
	    -o $(1).la $(notdir $(2)) $(3) >build.log 2>&1 || { cat build.log; exit 1; }
	cp $(BUILD)/apxs/$(1)/.libs/$(1).so $@.tmp && mv $@.tmp $@   # a running httpd keeps its inode
endef

$(BUILD)/mod_gramex.so: mod_gramex/mod_gramex*.c $(CORE_SRC) $(wildcard mod_gramex/*.h)
	$(call apxs_module,mod_gramex,$(wildcard mod_gramex/mod_gramex*.c) $(CORE_SRC),-lyaml -lpcre2-8)

$(BUILD)/mod_gramex_secrets.so: mod_gramex_secrets/mod_gramex_secrets*.c $(SEC_SRC) $(CORE_SRC)
	$(call apxs_module,mod_gramex_secrets,$(wildcard mod_gramex_secrets/mod_gramex_secrets*.c) $(SEC_SRC) $(CORE_SRC),-lyaml -lpcre2-8 -lcurl -lcrypto)

$(BUILD)/mod_gramex_ws.so: mod_gramex_ws/*.c mod_gramex_ws/*.h
	$(call apxs_module,mod_gramex_ws,$(wildcard mod_gramex_ws/*.c),)

clean:
	rm -rf $(BUILD)
