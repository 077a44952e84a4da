package org.jtune.io.hub;

import java.util.List;

/** A repository at a revision, as the Hub's API lists it: the commit the revision points at and the file paths. */
record RepoListing(String commit, List<String> files) {
    RepoListing {
        files = List.copyOf(files);
    }
}
