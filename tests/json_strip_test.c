/* json_strip_members(): named members blanked out of JSON text, the rest
 * byte for byte as it was, and text it cannot follow left alone. */
#include <stdlib.h>
#include <string.h>

#include "policyd/json_strip.h"
#include "tap.h"

static void check(const char *in, const char *want, const char *name)
{
	size_t len = strlen(in);
	char *buf = malloc(len + 1);
	size_t n;

	memcpy(buf, in, len + 1);
	n = json_strip_members(buf, len, "managedFields");
	buf[n] = '\0';
	is_str(buf, want, name);
	free(buf);
}

int main(void)
{
	check("{\"a\":1,\"managedFields\":[{\"x\":{\"y\":[1,2]}}],\"b\":2}",
	      "{\"a\":1,\"managedFields\":null,\"b\":2}", "an array value goes");
	check("{\"metadata\":{\"managedFields\" : {\"f\":\"}]\"},\"name\":\"p\"}}",
	      "{\"metadata\":{\"managedFields\":null,\"name\":\"p\"}}",
	      "nested, with spaces, and brackets inside strings of the value");
	check("{\"items\":[{\"managedFields\":[1,2]},{\"managedFields\":[]}]}",
	      "{\"items\":[{\"managedFields\":null},{\"managedFields\":[]}]}",
	      "every occurrence, in every item; one shorter than null stays");
	check("{\"note\":\"managedFields\",\"l\":[\"managedFields\",1]}",
	      "{\"note\":\"managedFields\",\"l\":[\"managedFields\",1]}",
	      "the name as a value or an array element is not a member");
	check("{\"a\":\"x\\\"managedFields\\\":[1]\"}",
	      "{\"a\":\"x\\\"managedFields\\\":[1]\"}",
	      "escaped quotes inside a string do not start a member");
	check("{\"managedFields\":\"str\",\"managedFields2\":[1,2,3]}",
	      "{\"managedFields\":null,\"managedFields2\":[1,2,3]}",
	      "a string value goes; a longer name is another member");
	check("{\"managedFields\":12.5e3}", "{\"managedFields\":null}",
	      "a number goes");
	check("{\"managedFields\":[1,2", "{\"managedFields\":[1,2",
	      "an unterminated value is left for the parser to refuse");
	check("{\"a\":\"open", "{\"a\":\"open", "an unterminated string is left");
	check("{\"x\":1,\"managedFields\":[{}],\"y\":\"tail",
	      "{\"x\":1,\"managedFields\":null,\"y\":\"tail",
	      "what comes after the last change is kept when it cannot be followed");
	check("", "", "empty input");
	check("[\"\\\\\",{\"managedFields\":{\"a\":1}}]",
	      "[\"\\\\\",{\"managedFields\":null}]",
	      "an escaped backslash ends its string");
	return done_testing();
}
