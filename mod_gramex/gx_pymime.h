/* gx_pymime: Python 3.11's built-in mimetypes tables, in mime.types form
 * (generated from mimetypes.MimeTypes(filenames=())). Gramex gives an
 * error: page the type Python's mimetypes.guess_type(path, strict=False)
 * says: these, then the system's mime.types files, then Gramex's mime:.
 * Included by gx_app.c only. */
#ifndef GX_PYMIME_H
#define GX_PYMIME_H

static const char gx_py_types_strict[] =
    "application/javascript js mjs\napplication/json json\n"
    "application/manifest+json webmanifest\napplication/msword doc dot wiz\n"
    "application/n-quads nq\napplication/n-triples nt\n"
    "application/octet-stream bin a dll exe o obj so\napplication/oda oda\n"
    "application/pdf pdf\napplication/pkcs7-mime p7c\napplication/postscript ps ai eps\n"
    "application/trig trig\napplication/vnd.apple.mpegurl m3u m3u8\n"
    "application/vnd.ms-excel xls xlb\napplication/vnd.ms-powerpoint ppt pot ppa pps pwz\n"
    "application/wasm wasm\napplication/x-bcpio bcpio\napplication/x-cpio cpio\n"
    "application/x-csh csh\napplication/x-dvi dvi\napplication/x-gtar gtar\n"
    "application/x-hdf hdf\napplication/x-hdf5 h5\napplication/x-latex latex\n"
    "application/x-mif mif\napplication/x-netcdf cdf nc\napplication/x-pkcs12 p12 pfx\n"
    "application/x-pn-realaudio ram\napplication/x-python-code pyc pyo\napplication/x-sh sh\n"
    "application/x-shar shar\napplication/x-shockwave-flash swf\n"
    "application/x-sv4cpio sv4cpio\napplication/x-sv4crc sv4crc\napplication/x-tar tar\n"
    "application/x-tcl tcl\napplication/x-tex tex\napplication/x-texinfo texi texinfo\n"
    "application/x-troff roff t tr\napplication/x-troff-man man\napplication/x-troff-me me\n"
    "application/x-troff-ms ms\napplication/x-ustar ustar\napplication/x-wais-source src\n"
    "application/xml xsl rdf wsdl xpdl\napplication/zip zip\naudio/3gpp 3gp 3gpp\n"
    "audio/3gpp2 3g2 3gpp2\naudio/aac aac adts loas ass\naudio/basic au snd\n"
    "audio/mpeg mp3 mp2\naudio/opus opus\naudio/x-aiff aif aifc aiff\n"
    "audio/x-pn-realaudio ra\naudio/x-wav wav\nimage/avif avif\nimage/bmp bmp\n"
    "image/gif gif\nimage/ief ief\nimage/jpeg jpg jpe jpeg\nimage/heic heic\n"
    "image/heif heif\nimage/png png\nimage/svg+xml svg\nimage/tiff tiff tif\n"
    "image/vnd.microsoft.icon ico\nimage/x-cmu-raster ras\nimage/x-portable-anymap pnm\n"
    "image/x-portable-bitmap pbm\nimage/x-portable-graymap pgm\nimage/x-portable-pixmap ppm\n"
    "image/x-rgb rgb\nimage/x-xbitmap xbm\nimage/x-xpixmap xpm\nimage/x-xwindowdump xwd\n"
    "message/rfc822 eml mht mhtml nws\ntext/css css\ntext/csv csv\ntext/html html htm\n"
    "text/n3 n3\ntext/plain txt bat c h ksh pl srt\ntext/richtext rtx\n"
    "text/tab-separated-values tsv\ntext/vtt vtt\ntext/x-python py\ntext/x-setext etx\n"
    "text/x-sgml sgm sgml\ntext/x-vcard vcf\ntext/xml xml\nvideo/mp4 mp4\n"
    "video/mpeg mpeg m1v mpa mpe mpg\nvideo/quicktime mov qt\nvideo/webm webm\n"
    "video/x-msvideo avi\nvideo/x-sgi-movie movie\n";

static const char gx_py_types_common[] =
    "application/rtf rtf\naudio/midi midi mid\nimage/jpg jpg\nimage/pict pict pct pic\n"
    "image/webp webp\ntext/xul xul\n";

#endif
