package org.jtune.data;

import com.fasterxml.jackson.databind.JsonNode;

/** One JSON value read from a data file, with where it was read. */
public record JsonRecord(RecordLocation location, JsonNode value) {
}
