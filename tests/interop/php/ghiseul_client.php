<?php
// PHP's own SoapClient (ext-soap, WSDL mode) against the running server, doing what
// ghiseul.ro does: sign each request with hash_hmac, verify each answer's check, assert the
// amounts, pay / retry / conflict / query again, and surface faults 1 and 2.
//
// Usage: php ghiseul_client.php WSDL_URL SOAP_VERSION(1.1|1.2) KEY DUMP_DIR
// Prints one "ok N - ..." or "not ok N - ..." line per assertion (TAP) and exits 1 if any
// failed. Every response body is written to DUMP_DIR (NN.xml) so that the Python side
// validates each one against the XSD of the served WSDL.

declare(strict_types=1);

if ($argc !== 5) {
    fwrite(STDERR, "usage: php ghiseul_client.php WSDL_URL 1.1|1.2 KEY DUMP_DIR\n");
    exit(2);
}
[, $wsdl, $version, $key, $dumpDir] = $argv;

/** SoapClient that keeps every response body it receives. */
final class RecordingSoapClient extends SoapClient
{
    public string $dumpDir = '';
    public int $responses = 0;
    public string $lastRequestEnvelopeNs = '';

    public function __doRequest($request, $location, $action, $version, $oneWay = false): ?string
    {
        // The namespace bound to the Envelope's prefix (no DOM: php-soap alone suffices).
        $this->lastRequestEnvelopeNs = preg_match('/<([\w-]+):Envelope\s[^>]*xmlns:\1="([^"]+)"/', $request, $m) ? $m[2] : '';
        $response = parent::__doRequest($request, $location, $action, $version, $oneWay);
        $this->responses++;
        file_put_contents(sprintf('%s/%02d.xml', $this->dumpDir, $this->responses), (string) $response);
        return $response;
    }
}

$tests = 0;
$failed = 0;
function check_that(bool $ok, string $what, string $detail = ''): void
{
    global $tests, $failed;
    $tests++;
    if (!$ok) {
        $failed++;
    }
    echo ($ok ? 'ok' : 'not ok') . " $tests - $what" . ($ok || $detail === '' ? '' : " # $detail") . "\n";
}

function lei(float $v): string
{
    return sprintf('%.2f', $v);
}

function now_ro(): string
{
    return (new DateTime('now', new DateTimeZone('Europe/Bucharest')))->format('YmdHis');
}

$client = new RecordingSoapClient($wsdl, [
    'soap_version' => $version === '1.2' ? SOAP_1_2 : SOAP_1_1,
    'trace' => true,
    'exceptions' => true,
    'cache_wsdl' => WSDL_CACHE_NONE,
    // Lists of one come back as arrays too, so the code below needs no special case.
    'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
]);
$client->dumpDir = $dumpDir;

/** getSumeDePlataPePersoana; verifies the check; returns [id => [valoare, header, lines]]. */
function sume(RecordingSoapClient $client, string $key, string $cui, ?string $check = null): array
{
    $r = $client->getSumeDePlataPePersoana([
        'cui' => $cui,
        'timestamp' => now_ro(),
        'check' => $check ?? hash_hmac('sha1', $cui, $key),
    ])->getSumeDePlataPePersoanaResult;
    $signed = '';
    $out = [];
    foreach ($r->sume->item ?? [] as $t) {
        $header = $t->detaliiHeader->item ?? [];
        $lines = [];
        foreach ($t->detaliiBody->item ?? [] as $line) {
            $lines[] = $line->linie->item ?? [];
        }
        // The amount is an xsd:float: PHP reads 30.50 as 30.5; the check covers it
        // written with two decimals, as the norm's format says.
        $signed .= (string) $t->idTipSuma . lei((float) $t->valoare) . implode('', $header);
        foreach ($lines as $line) {
            $signed .= implode('', $line);
        }
        $out[(int) $t->idTipSuma] = [lei((float) $t->valoare), $header, $lines];
    }
    check_that(hash_equals(hash_hmac('sha1', $signed, $key), strtolower($r->check)), "check of the statement of $cui verifies");
    check_that((bool) preg_match('/^\d{8}$/', $r->dataCalcul) && (bool) preg_match('/^\d{14}$/', $r->timestamp), 'dataCalcul and timestamp have the norm\'s form');
    return $out;
}

function amounts(array $statement): array
{
    return array_map(fn ($t) => $t[0], $statement);
}

/** inregistrareIncasari with float amounts; the check covers them with two decimals. */
function pay(RecordingSoapClient $client, string $key, int $order, string $cui, array $sume, ?string $check = null): bool
{
    $data = '2025-06-02 10:15:00';
    $text = $order . $cui . $data;
    $items = [];
    foreach ($sume as [$id, $valoare]) {
        $text .= $id . lei($valoare);
        $items[] = ['idTipSuma' => $id, 'valoare' => $valoare];
    }
    $r = $client->inregistrareIncasari([
        'order' => $order,
        'cui' => $cui,
        'sume' => ['item' => $items],
        'data' => $data,
        'timestamp' => now_ro(),
        'check' => $check ?? hash_hmac('sha1', $text, $key),
    ]);
    return (bool) $r->inregistrareIncasariResult;
}

/** Runs $call, which must raise a SoapFault; checks its code and the start of its text. */
function expect_fault(callable $call, string $code, string $text, string $what): ?SoapFault
{
    try {
        $call();
        check_that(false, "$what: fault $code", 'no fault was raised');
        return null;
    } catch (SoapFault $f) {
        check_that((string) $f->faultcode === $code, "$what: fault code $code", "got {$f->faultcode}");
        check_that(str_starts_with($f->faultstring, $text), "$what: fault text \"$text\"", "got {$f->faultstring}");
        return $f;
    }
}

const POPESCU = '1800101221111';
const IONESCU = '2820704120023';
const FIRMA = '31245671';
const NECUNOSCUT = '1600101220035';
const CNP_GRESIT = '1800101221112';

try {
    // The statement.
    $s = sume($client, $key, POPESCU);
    $expectedNs = $version === '1.2' ? 'http://www.w3.org/2003/05/soap-envelope' : 'http://schemas.xmlsoap.org/soap/envelope/';
    check_that($client->lastRequestEnvelopeNs === $expectedNs, "SoapClient sent a SOAP $version envelope", $client->lastRequestEnvelopeNs);
    check_that(amounts($s) === [1 => '326.00', 2 => '30.50', 5 => '100.00', 7 => '50.00'], 'amounts of the statement', json_encode(amounts($s)));
    check_that(array_keys($s) === [1, 2, 5, 7], 'prioritised types first, then the rest by code', json_encode(array_keys($s)));
    check_that($s[1][1] === ['Proprietate', 'Debit', 'Rămășiță', 'Majorări', 'Penalități'], 'default header', json_encode($s[1][1], JSON_UNESCAPED_UNICODE));
    check_that($s[1][2][0] === ['Casă & garaj, Str. Lungă nr. 1', '100.00', '20.00', '5.00', '1.00'], 'first line of type 1, escaped text intact', json_encode($s[1][2][0], JSON_UNESCAPED_UNICODE));
    check_that($s[2][2][0][0] === 'Teren intravilan <500 mp>', 'markup characters come back as text');
    check_that($s[5][1][0] === 'Proces-verbal', 'a tax type\'s own header');
    check_that(sume($client, $key, IONESCU) === [], 'a person who owes nothing: empty list, signed over the empty string');
    check_that(amounts(sume($client, $key, FIRMA)) === [1 => '1000.00'], 'a firm by its CIF');

    // The payment round trip.
    $paid = [[1, 150.00], [2, 30.50]];
    check_that(pay($client, $key, 1001, POPESCU, $paid) === true, 'payment 1001 recorded: true');
    $after = sume($client, $key, POPESCU);
    check_that(amounts($after) === [1 => '176.00', 5 => '100.00', 7 => '50.00'], 'amounts after the payment', json_encode(amounts($after)));
    check_that($after[1][2][1][1] === '170.00', 'rămășiță and the oldest debit paid first');
    check_that(pay($client, $key, 1001, POPESCU, $paid) === true, 'retry of order 1001: true');
    check_that(sume($client, $key, POPESCU) === $after, 'the retry changed nothing');
    check_that(pay($client, $key, 1001, POPESCU, [[1, 150.00], [2, 30.00]]) === false, 'order 1001 with other content: false');
    check_that(sume($client, $key, POPESCU) === $after, 'the conflicting order changed nothing');
    check_that(pay($client, $key, 1002, POPESCU, [[7, 50.00]]) === true, 'a new order 1002: true');
    check_that(amounts(sume($client, $key, POPESCU)) === [1 => '176.00', 5 => '100.00'], 'query again after order 1002');

    // Faults.
    $f = expect_fault(fn () => sume($client, $key, POPESCU, str_repeat('0', 40)), '1', 'Mesaj invalid', 'wrong check on a query');
    check_that($f !== null && str_contains($f->faultstring, 'suma de control'), 'fault 1 says why');
    expect_fault(fn () => pay($client, $key, 1003, POPESCU, [[1, 10.0]], hash_hmac('sha1', 'x', 'alta-cheie')), '1', 'Mesaj invalid', 'wrong check on a payment');
    check_that(amounts(sume($client, $key, POPESCU))[1] === '176.00', 'the rejected payment changed nothing');
    expect_fault(fn () => sume($client, $key, NECUNOSCUT), '2', 'CUI invalid sau inexistent', 'CNP not in the register');
    $f = expect_fault(fn () => sume($client, $key, CNP_GRESIT), '2', 'CUI invalid sau inexistent', 'CNP with a wrong control digit');
    check_that($f !== null && str_contains($f->faultstring, 'cifra de control'), 'fault 2 says why');
    expect_fault(fn () => pay($client, $key, 1004, NECUNOSCUT, [[1, 10.0]]), '2', 'CUI invalid sau inexistent', 'payment for an unknown person');
} catch (Throwable $e) {
    check_that(false, 'unexpected ' . get_class($e), $e->getMessage());
    fwrite(STDERR, "last request:\n" . $client->__getLastRequest() . "\nlast response:\n" . $client->__getLastResponse() . "\n");
}

echo "1..$tests\n";
echo "# responses received: {$client->responses}\n";
exit($failed === 0 ? 0 : 1);
