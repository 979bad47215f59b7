package org.vigil.local;

import org.apache.logging.log4j.LogManager;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;
import sun.misc.Signal;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Runs one real Elasticsearch node in this JVM, for local tests only.
 *
 * <p>Does what {@code org.elasticsearch.bootstrap.Elasticsearch} does minus the production parts we cannot or
 * need not have here: no server-cli process, no entitlements/security manager, no jar-hell scan of the
 * classpath, no bootstrap checks, no root check. Modules come from {@code <dist>/modules} next to the
 * {@code lib/} dir this class was loaded from; Maven lays that out (see pom.xml).
 *
 * <pre>EsNode --home DIR --http-port N --transport-port N --cluster-name NAME</pre>
 */
public final class EsNode {

    public static void main(String[] args) throws Exception {
        Map<String, String> opts = parseArgs(args);
        Path home = Path.of(opts.get("--home")).toAbsolutePath().normalize();
        String clusterName = opts.get("--cluster-name");
        String nodeName = opts.getOrDefault("--node-name", clusterName + "-0");

        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(home.resolve("data"));
        Files.createDirectories(home.resolve("logs"));
        try (InputStream in = EsNode.class.getResourceAsStream("log4j2.properties")) {
            Files.copy(in, config.resolve("log4j2.properties"), StandardCopyOption.REPLACE_EXISTING);
        }

        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", clusterName)
            .put("node.name", nodeName)
            .put("network.host", "127.0.0.1")
            .put("http.port", opts.get("--http-port"))
            .put("transport.port", opts.get("--transport-port"))
            // one node, no peers to find, no cluster bootstrapping
            .put("discovery.type", "single-node")
            // dev laptops and CI disks are often >90% full; without this ES makes indices read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            // let tests clean up with wildcards (DELETE vigil-*), refused by default since 8.0
            .put("action.destructive_requires_name", false)
            .build();

        LogConfigurator.registerErrorListener();
        LogConfigurator.setClusterName(clusterName);
        LogConfigurator.setNodeName(nodeName);
        Environment env = new Environment(settings, config);
        LogConfigurator.configure(env, true);

        Path dist = Path.of(EsNode.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getParent().getParent();
        PluginsLoader plugins = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(dist.resolve("modules")),
            Set.of(),
            Map.of(),
            false // server runs on the classpath, not as a JPMS module, so there are no server exports to add
        );

        Node node = new Node(env, plugins);
        CountDownLatch stopped = new CountDownLatch(1);
        // Handle the signals ourselves (instead of a shutdown hook) so a requested stop exits 0, not 143.
        Signal.handle(new Signal("TERM"), sig -> stop(node, stopped));
        Signal.handle(new Signal("INT"), sig -> stop(node, stopped));
        try {
            node.start();
        } catch (Exception e) {
            // e.g. port already in use: say why and exit non-zero instead of leaving half a node running
            LogManager.getLogger(EsNode.class).error("failed to start node", e);
            node.close();
            System.exit(1);
        }
        // ES threads are daemons; this non-daemon main thread keeps the JVM up until we are told to stop.
        stopped.await();
        System.exit(0);
    }

    private static void stop(Node node, CountDownLatch stopped) {
        try {
            node.prepareForClose();
            node.close();
            node.awaitClose(8, TimeUnit.SECONDS);
        } catch (Exception e) {
            e.printStackTrace();
        } finally {
            stopped.countDown();
        }
    }

    private static Map<String, String> parseArgs(String[] args) {
        Map<String, String> opts = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            opts.put(args[i], args[i + 1]);
        }
        for (String required : new String[] { "--home", "--http-port", "--transport-port", "--cluster-name" }) {
            if (opts.containsKey(required) == false) {
                System.err.println("usage: EsNode --home DIR --http-port N --transport-port N --cluster-name NAME");
                System.exit(2);
            }
        }
        return opts;
    }
}
