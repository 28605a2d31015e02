/* test_s3xml.c — the parsers of S3's answers (src/blob/s3_xml.c) on documents as AWS and s3rver
 * write them: listings with entries, common prefixes, markers and odd keys; upload ids; the ETag of
 * a copy or a completed upload, also when the 200 carries an <Error>; errors; times and ETags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "blob/s3_xml.h"

#define S(lit) lit, sizeof lit - 1

static void test_list(void **state)
{
    (void)state;
    /* as AWS documents it (ListObjects v1), plus an entity, blanks kept in a key, a CommonPrefix */
    const char doc[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       "<Name>bucket</Name><Prefix>p/</Prefix><Marker></Marker><NextMarker>p/b </NextMarker>"
                       "<MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
                       "<Contents><Key>p/a&amp;b</Key><LastModified>2009-10-12T17:50:30.000Z</LastModified>"
                       "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag><Size>434234</Size>"
                       "<StorageClass>STANDARD</StorageClass><Owner><ID>x</ID><DisplayName>y</DisplayName></Owner>"
                       "</Contents>"
                       "<Contents><Key>p/b </Key><LastModified>2024-02-29T00:00:01Z</LastModified>"
                       "<ETag>\"d41d8cd98f00b204e9800998ecf8427e-3\"</ETag><Size>0</Size></Contents>"
                       "<CommonPrefixes><Prefix>p/c/</Prefix></CommonPrefixes>"
                       "</ListBucketResult>";
    s3_list_page pg;
    char err[256];
    assert_true(s3_xml_list(S(doc), &pg, err, sizeof err));
    assert_int_equal(pg.n, 2);
    assert_string_equal(pg.entries[0].key, "p/a&b");
    assert_int_equal(pg.entries[0].size, 434234);
    assert_int_equal(pg.entries[0].mtime_ms, 1255369830000LL);
    assert_string_equal(pg.entries[0].etag, "fba9dede5f27731c9771645a39863328");
    assert_string_equal(pg.entries[1].key, "p/b ");
    assert_string_equal(pg.entries[1].etag, "d41d8cd98f00b204e9800998ecf8427e-3");
    assert_int_equal(pg.entries[1].mtime_ms, 1709164801000LL);
    assert_int_equal(pg.nprefixes, 1);
    assert_string_equal(pg.prefixes[0], "p/c/");
    assert_true(pg.truncated);
    assert_string_equal(pg.next_marker, "p/b ");
    s3_list_page_free(&pg);

    const char empty[] = "<ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>";
    assert_true(s3_xml_list(S(empty), &pg, err, sizeof err));
    assert_int_equal(pg.n, 0);
    assert_false(pg.truncated);
    assert_null(pg.next_marker);
    s3_list_page_free(&pg);

    /* refused: another document, an Error, broken entries, a DTD, garbage */
    const char *bad[] = {
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
        "<ListAllMyBucketsResult/>",
        "<ListBucketResult><IsTruncated>maybe</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size><ETag>\"a\"</ETag>"
        "<LastModified>2009-10-12T17:50:30.000Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>1</Size><ETag>\"a\"</ETag>"
        "<LastModified>2009-02-30T17:50:30.000Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>1</Size><ETag>\"a b\"</ETag>"
        "<LastModified>2009-10-12T17:50:30Z</LastModified></Contents></ListBucketResult>",
        "<ListBucketResult><CommonPrefixes></CommonPrefixes></ListBucketResult>",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>",
        "not xml at all",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_false(s3_xml_list(bad[i], strlen(bad[i]), &pg, err, sizeof err));
        assert_true(strlen(err) > 0);
        assert_null(pg.entries);
    }
    assert_false(s3_xml_list(bad[0], strlen(bad[0]), &pg, err, sizeof err));
    assert_non_null(strstr(err, "AccessDenied"));
}

static void test_error_and_results(void **state)
{
    (void)state;
    char code[64], msg[256], err[256], id[S3_UPLOAD_ID_MAX], etag[S3_ETAG_MAX];
    const char e[] = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The resource you requested "
                     "does not exist</Message><Resource>/b/k</Resource></Error>";
    assert_true(s3_xml_error(S(e), code, sizeof code, msg, sizeof msg));
    assert_string_equal(code, "NoSuchKey");
    assert_string_equal(msg, "The resource you requested does not exist");
    assert_false(s3_xml_error(S("<ListBucketResult/>"), code, sizeof code, msg, sizeof msg));
    assert_false(s3_xml_error(S(""), code, sizeof code, msg, sizeof msg));

    const char init[] = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                        "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
                        "</InitiateMultipartUploadResult>";
    assert_true(s3_xml_upload_id(S(init), id, sizeof id, err, sizeof err));
    assert_string_equal(id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    assert_false(s3_xml_upload_id(S("<InitiateMultipartUploadResult/>"), id, sizeof id, err, sizeof err));

    const char copy[] = "<CopyObjectResult><LastModified>2009-10-28T22:32:00.000Z</LastModified>"
                        "<ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>";
    assert_true(s3_xml_etag_result(S(copy), "CopyObjectResult", etag, err, sizeof err));
    assert_string_equal(etag, "9b2cf535f27731c974343645a3985328");
    /* S3 may answer 200 and put an Error in the body: that is a failure, with its code */
    const char copy_err[] = "<Error><Code>InternalError</Code><Message>We encountered an internal error. "
                            "Please try again.</Message></Error>";
    assert_false(s3_xml_etag_result(S(copy_err), "CopyObjectResult", etag, err, sizeof err));
    assert_non_null(strstr(err, "InternalError"));
    const char done[] = "<CompleteMultipartUploadResult><Location>http://b/k</Location><Bucket>b</Bucket>"
                        "<Key>k</Key><ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
                        "</CompleteMultipartUploadResult>";
    assert_true(s3_xml_etag_result(S(done), "CompleteMultipartUploadResult", etag, err, sizeof err));
    assert_string_equal(etag, "3858f62230ac3c915f300c664312c11f-9");
    assert_false(s3_xml_etag_result(S(done), "CopyObjectResult", etag, err, sizeof err));

    const char ups[] = "<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>"
                       "<Upload><Key>a b</Key><UploadId>1</UploadId></Upload>"
                       "<Upload><Key>c</Key><UploadId>2</UploadId></Upload></ListMultipartUploadsResult>";
    s3_upload *u;
    size_t n;
    bool truncated = true;
    assert_true(s3_xml_uploads(S(ups), &u, &n, &truncated, err, sizeof err));
    assert_int_equal(n, 2);
    assert_false(truncated);
    assert_string_equal(u[0].key, "a b");
    assert_string_equal(u[1].upload_id, "2");
    s3_uploads_free(u, n);
}

static void test_times_and_etags(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(s3_iso_time("1970-01-01T00:00:00Z", &ms));
    assert_int_equal(ms, 0);
    assert_true(s3_iso_time("2009-10-12T17:50:30.999Z", &ms));
    assert_int_equal(ms, 1255369830000LL); /* whole seconds, as Last-Modified has them */
    const char *bad[] = {"2009-10-12T17:50:30", "2009-10-12 17:50:30Z", "2009-13-12T17:50:30Z", "2023-02-29T00:00:00Z",
                         " 2009-10-12T17:50:30Z", "+009-10-12T17:50:30Z", "2009-10-12T17:50:30.Z", "", "1969-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(s3_iso_time(bad[i], &ms));
    char e[S3_ETAG_MAX];
    assert_true(s3_etag_clean(" \"abc\" ", e));
    assert_string_equal(e, "abc");
    assert_true(s3_etag_clean("abc-12", e));
    assert_false(s3_etag_clean("\"\"", e));
    assert_false(s3_etag_clean("a\"b", e));
    assert_false(s3_etag_clean("0123456789012345678901234567890123456789", e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_error_and_results),
        cmocka_unit_test(test_times_and_etags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
